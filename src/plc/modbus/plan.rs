//! Which read requests poll an endpoint's tags: one request per run of adjacent (or
//! overlapping) addresses of one unit and table, merged across gaps of at most `max_gap`
//! unused items, and split so that no request asks for more than the protocol allows
//! (125 registers, 2,000 coils or discrete inputs). A value is never split between two
//! requests. Pure.

use super::address::Table;

/// What one tag reads: `len` items (registers or bits) from `start` of a table of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Unit id (slave id).
    pub unit: u8,
    /// The table.
    pub table: Table,
    /// First address.
    pub start: u16,
    /// Registers or bits (at least 1).
    pub len: u16,
}

/// One read request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Unit id.
    pub unit: u8,
    /// The table.
    pub table: Table,
    /// First address.
    pub start: u16,
    /// Registers or bits asked for.
    pub count: u16,
}

/// The requests, and where each item's data is in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Requests, by unit, table and address.
    pub requests: Vec<Request>,
    /// For each item, in the order given: its request and its offset in that request's data.
    pub places: Vec<(usize, u16)>,
}

/// Plans the requests that read `items`, merging across gaps of up to `max_gap` items.
pub fn plan(items: &[Item], max_gap: u16) -> Plan {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].unit, items[i].table, items[i].start, items[i].len));
    let mut requests: Vec<Request> = Vec::new();
    let mut places = vec![(0usize, 0u16); items.len()];
    // the open request: index, and its end (exclusive, as u32: it may be 65536)
    let mut open: Option<(usize, u32)> = None;
    for i in order {
        let item = items[i];
        let (start, end) = (
            u32::from(item.start),
            u32::from(item.start) + u32::from(item.len.max(1)),
        );
        let fits = open.filter(|&(r, open_end)| {
            let req = requests[r];
            req.unit == item.unit
                && req.table == item.table
                && start <= open_end + u32::from(max_gap)
                && end.max(open_end) - u32::from(req.start) <= u32::from(item.table.max_per_request())
        });
        let r = match fits {
            Some((r, open_end)) => {
                let end = end.max(open_end);
                requests[r].count = (end - u32::from(requests[r].start)) as u16;
                open = Some((r, end));
                r
            }
            None => {
                requests.push(Request {
                    unit: item.unit,
                    table: item.table,
                    start: item.start,
                    count: (end - start) as u16,
                });
                open = Some((requests.len() - 1, end));
                requests.len() - 1
            }
        };
        places[i] = (r, item.start - requests[r].start);
    }
    Plan { requests, places }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Table::*;

    fn item(unit: u8, table: Table, start: u16, len: u16) -> Item {
        Item {
            unit,
            table,
            start,
            len,
        }
    }

    fn req(unit: u8, table: Table, start: u16, count: u16) -> Request {
        Request {
            unit,
            table,
            start,
            count,
        }
    }

    /// (items, max_gap, requests, places)
    type Case = (Vec<Item>, u16, Vec<Request>, Vec<(usize, u16)>);

    #[test]
    fn adjacent_items_merge_and_the_rest_stay_apart() {
        let table: Vec<Case> = vec![
            // hr 0, 1 and 2..3 are adjacent: one request of 4 registers
            (
                vec![
                    item(1, HoldingRegister, 0, 1),
                    item(1, HoldingRegister, 2, 2),
                    item(1, HoldingRegister, 1, 1),
                ],
                0,
                vec![req(1, HoldingRegister, 0, 4)],
                vec![(0, 0), (0, 2), (0, 1)],
            ),
            // a gap of 2 registers (10, 11) splits without max_gap, merges with max_gap 2
            (
                vec![item(1, HoldingRegister, 8, 2), item(1, HoldingRegister, 12, 1)],
                0,
                vec![req(1, HoldingRegister, 8, 2), req(1, HoldingRegister, 12, 1)],
                vec![(0, 0), (1, 0)],
            ),
            (
                vec![item(1, HoldingRegister, 8, 2), item(1, HoldingRegister, 12, 1)],
                2,
                vec![req(1, HoldingRegister, 8, 5)],
                vec![(0, 0), (0, 4)],
            ),
            // overlapping items (two bits of one register, a u32 over a u16) share registers
            (
                vec![
                    item(1, HoldingRegister, 5, 1),
                    item(1, HoldingRegister, 5, 1),
                    item(1, HoldingRegister, 4, 2),
                ],
                0,
                vec![req(1, HoldingRegister, 4, 2)],
                vec![(0, 1), (0, 1), (0, 0)],
            ),
            // other tables and other units never merge, however close
            (
                vec![
                    item(1, HoldingRegister, 0, 1),
                    item(1, InputRegister, 1, 1),
                    item(2, HoldingRegister, 1, 1),
                    item(1, Coil, 0, 1),
                    item(1, DiscreteInput, 1, 1),
                ],
                10,
                vec![
                    req(1, Coil, 0, 1),
                    req(1, DiscreteInput, 1, 1),
                    req(1, HoldingRegister, 0, 1),
                    req(1, InputRegister, 1, 1),
                    req(2, HoldingRegister, 1, 1),
                ],
                vec![(2, 0), (3, 0), (4, 0), (0, 0), (1, 0)],
            ),
            (vec![], 0, vec![], vec![]),
        ];
        for (items, gap, requests, places) in table {
            let got = plan(&items, gap);
            assert_eq!(got.requests, requests, "{items:?} gap {gap}");
            assert_eq!(got.places, places, "{items:?} gap {gap}");
        }
    }

    #[test]
    fn requests_split_at_the_protocol_limits() {
        // 130 adjacent registers: 125 in the first request, 5 in the second
        let regs: Vec<Item> = (0..130).map(|a| item(1, HoldingRegister, a, 1)).collect();
        let got = plan(&regs, 0);
        assert_eq!(
            got.requests,
            vec![req(1, HoldingRegister, 0, 125), req(1, HoldingRegister, 125, 5)]
        );
        assert_eq!(got.places[124], (0, 124));
        assert_eq!(got.places[125], (1, 0));

        // a u32 at 124..125 would straddle the limit: it starts the next request whole
        let straddle = [item(1, InputRegister, 0, 1), item(1, InputRegister, 124, 2)];
        let got = plan(&straddle, 200);
        assert_eq!(
            got.requests,
            vec![req(1, InputRegister, 0, 1), req(1, InputRegister, 124, 2)]
        );

        // a u64 ending exactly at 125 still fits: 121..124
        let fits = [item(1, HoldingRegister, 0, 1), item(1, HoldingRegister, 121, 4)];
        assert_eq!(plan(&fits, 200).requests, vec![req(1, HoldingRegister, 0, 125)]);

        // 2,001 coils: 2,000 and 1
        let coils: Vec<Item> = (0..2001).map(|a| item(1, Coil, a, 1)).collect();
        assert_eq!(
            plan(&coils, 0).requests,
            vec![req(1, Coil, 0, 2000), req(1, Coil, 2000, 1)]
        );

        // the last register of the address space
        let last = [item(1, HoldingRegister, 65534, 2)];
        assert_eq!(plan(&last, 0).requests, vec![req(1, HoldingRegister, 65534, 2)]);
    }
}
