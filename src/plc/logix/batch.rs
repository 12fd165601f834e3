//! Read groups as Multiple Service Packets: consecutive Read Tag requests go into one
//! packet while both the request and its expected reply fit the connection (its size less
//! the 2-byte sequence count). Reply sizes are learned from the replies (a first guess
//! before that), so a group of strings splits where a group of DINTs does not.

use std::ops::Range;

use crate::plc::enip::cip::{MULTIPLE_REPLY_OVERHEAD, MULTIPLE_SERVICE_OVERHEAD, MULTIPLE_SERVICE_PER_REQUEST};

/// The reply size assumed for a tag before its first reply: status header (4), type (2),
/// an 8-byte value, and room for a short structure header.
pub const FIRST_GUESS: usize = 16;

/// Packets for requests of these sizes with replies of these sizes over a connection of
/// `size` bytes: ranges of request indexes, in order. A request too large on its own
/// still gets a packet (the controller then says why it fails).
pub fn plan(requests: &[usize], replies: &[usize], size: usize) -> Vec<Range<usize>> {
    let budget = size.saturating_sub(2);
    let mut out = Vec::new();
    let mut start = 0;
    let (mut req, mut rep) = (MULTIPLE_SERVICE_OVERHEAD, MULTIPLE_REPLY_OVERHEAD);
    for (i, request) in requests.iter().enumerate() {
        let (q, r) = (
            request + MULTIPLE_SERVICE_PER_REQUEST,
            replies.get(i).copied().unwrap_or(FIRST_GUESS) + MULTIPLE_SERVICE_PER_REQUEST,
        );
        if i > start && (req + q > budget || rep + r > budget) {
            out.push(start..i);
            start = i;
            req = MULTIPLE_SERVICE_OVERHEAD;
            rep = MULTIPLE_REPLY_OVERHEAD;
        }
        req += q;
        rep += r;
    }
    if start < requests.len() {
        out.push(start..requests.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fill_the_connection_each_way() {
        // Overheads: request 8 + 2 per request, reply 6 + 2 per reply; budget size − 2.
        // (requests, replies, size, packets as (first, end))
        type Case = (Vec<usize>, Vec<usize>, usize, Vec<(usize, usize)>);
        let table: [Case; 6] = [
            (vec![], vec![], 500, vec![]),
            // 10 requests of 20 bytes: 8 + 10 × 22 = 228 ≤ 498, replies 6 + 10 × 12 = 126
            (vec![20; 10], vec![10; 10], 500, vec![(0, 10)]),
            // 30 of 20: 22 fit in 498 (8 + 22 × 22 = 492), the rest in a second
            (vec![20; 30], vec![10; 30], 500, vec![(0, 22), (22, 30)]),
            // the same over a large connection: one packet (8 + 30 × 22 = 668 ≤ 3998)
            (vec![20; 30], vec![10; 30], 4000, vec![(0, 30)]),
            // replies decide: strings of 92 bytes, 6 + 5 × 94 = 476 ≤ 498, a sixth would not
            (vec![20; 7], vec![92; 7], 500, vec![(0, 5), (5, 7)]),
            // a request that is too big alone still goes alone
            (vec![600, 10], vec![10, 10], 500, vec![(0, 1), (1, 2)]),
        ];
        for (requests, replies, size, want) in table {
            let got: Vec<(usize, usize)> = plan(&requests, &replies, size)
                .into_iter()
                .map(|r| (r.start, r.end))
                .collect();
            assert_eq!(got, want, "{requests:?} {replies:?} {size}");
        }
        // unknown replies are guessed: 6 + n × (16 + 2) ≤ 498 → 27 per packet
        assert_eq!(pairs(plan(&[4; 30], &[], 500)), [(0, 27), (27, 30)]);
    }

    fn pairs(packets: Vec<Range<usize>>) -> Vec<(usize, usize)> {
        packets.into_iter().map(|r| (r.start, r.end)).collect()
    }
}
