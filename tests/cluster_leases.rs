//! Shard leases between replicas, on both backends, on a controlled clock: two replicas
//! split the shards in use; a replica that stops renewing (killed, or frozen) is taken
//! over once its leases lapse, under a new epoch that refuses the old owner's writes; a
//! graceful stop hands over at once; two replicas racing for one shard cannot both win;
//! a replica cut off from the store owns nothing once its leases would have lapsed.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::stores::stores;
use ms5::cluster::lease_keeper::{LeaseKeeper, LeaseSettings, Owned};
use ms5::domain::cluster::shard::{Shard, shard_of};
use ms5::store::Store;

const T0: i64 = 1_795_910_400_000;
const SEC: i64 = 1_000;
const TTL: Duration = Duration::from_secs(15);

/// The shards of a 20-line plant.
fn in_use() -> Vec<Shard> {
    let mut s: Vec<Shard> = (1..=20).map(|i| shard_of(&format!("line-{i}"))).collect();
    s.sort_unstable();
    s.dedup();
    s
}

fn keeper(store: &Store, name: &str) -> LeaseKeeper {
    let settings = LeaseSettings {
        replica: name.to_owned(),
        ttl: TTL,
    };
    LeaseKeeper::new(store.clone(), settings, in_use())
}

fn shards(owned: &Owned) -> BTreeSet<Shard> {
    owned.keys().copied().collect()
}

async fn round(k: &mut LeaseKeeper, now: i64) -> Owned {
    k.round(now).await.expect("lease round")
}

#[actix_rt::test]
async fn two_replicas_split_the_shards_and_a_lapsed_one_is_taken_over_under_a_new_epoch() {
    let all: BTreeSet<Shard> = in_use().into_iter().collect();
    let half = all.len().div_ceil(2);
    for (backend, store, _dir) in stores("cluster_leases::split").await {
        store.seed_leases().await.expect("seed");
        store.seed_leases().await.expect("seeding twice changes nothing");
        let (mut a, mut b) = (keeper(&store, "ms5-a"), keeper(&store, "ms5-b"));

        // Alone, a owns every shard in use, and nothing else.
        assert_eq!(shards(&round(&mut a, T0).await), all, "{backend}");
        // b joins: nothing is free yet; a sees two replicas and hands over down to its share.
        assert!(round(&mut b, T0 + SEC).await.is_empty(), "{backend}");
        let kept = round(&mut a, T0 + 5 * SEC).await;
        assert_eq!(kept.len(), half, "{backend}");
        let taken = round(&mut b, T0 + 6 * SEC).await;
        assert_eq!(taken.len(), all.len() - half, "{backend}");
        assert!(
            shards(&kept).is_disjoint(&shards(&taken)),
            "{backend}: one owner per shard"
        );
        assert_eq!(&shards(&kept) | &shards(&taken), all, "{backend}: every shard owned");
        // Renewing keeps each replica's shards and epochs.
        assert_eq!(round(&mut a, T0 + 10 * SEC).await, kept, "{backend}");
        assert_eq!(round(&mut b, T0 + 11 * SEC).await, taken, "{backend}");

        // a stops renewing (killed or frozen). Before its leases lapse b takes nothing…
        let last_renewal = T0 + 10 * SEC;
        let lapse = last_renewal + TTL.as_millis() as i64;
        assert_eq!(round(&mut b, lapse - SEC).await, taken, "{backend}");
        // …after, it takes every shard of a, each under the next epoch.
        let all_b = round(&mut b, lapse).await;
        assert_eq!(shards(&all_b), all, "{backend}");
        for (shard, epoch) in &kept {
            assert_eq!(all_b[shard], epoch + 1, "{backend}: shard {shard}");
            // The old owner's writes carry the old epoch and are refused.
            assert!(
                !store.holds_lease("ms5-a", *shard, *epoch, lapse).await.expect("fence"),
                "{backend}"
            );
            assert!(
                store
                    .holds_lease("ms5-b", *shard, epoch + 1, lapse)
                    .await
                    .expect("fence"),
                "{backend}"
            );
        }
        // a wakes: its lapsed leases are not renewed, and nothing is free to claim.
        assert!(round(&mut a, lapse + SEC).await.is_empty(), "{backend}: a owns nothing");
        assert_eq!(a.owned(), Owned::new(), "{backend}");
    }
}

#[actix_rt::test]
async fn a_graceful_stop_hands_every_shard_over_at_once() {
    let all: BTreeSet<Shard> = in_use().into_iter().collect();
    for (backend, store, _dir) in stores("cluster_leases::graceful").await {
        store.seed_leases().await.expect("seed");
        let (mut a, mut b) = (keeper(&store, "ms5-a"), keeper(&store, "ms5-b"));
        round(&mut a, T0).await;
        round(&mut b, T0).await;
        round(&mut a, T0 + SEC).await;
        round(&mut b, T0 + SEC).await;
        let mut watch_a = a.watch();
        a.release_all().await.expect("release");
        assert!(
            watch_a.borrow_and_update().is_empty(),
            "{backend}: a's actors are told at once"
        );
        // b, alone now, takes everything in its next round: no lease time to wait out.
        assert_eq!(shards(&round(&mut b, T0 + 2 * SEC).await), all, "{backend}");
    }
}

#[actix_rt::test]
async fn two_replicas_racing_for_one_shard_cannot_both_win_it() {
    for (backend, store, _dir) in stores("cluster_leases::race").await {
        store.seed_leases().await.expect("seed");
        let shard = [in_use()[0]];
        for n in 0..10i64 {
            let now = T0 + n * 60 * SEC;
            let until = now + 15 * SEC;
            let (a, b) = futures_util::join!(
                store.claim_leases("ms5-a", &shard, now, until),
                store.claim_leases("ms5-b", &shard, now, until)
            );
            let won = a.expect("a").len() + b.expect("b").len();
            assert_eq!(won, 1, "{backend}: race {n}");
        }
    }
}

#[actix_rt::test]
async fn a_replica_cut_off_from_the_store_owns_nothing_once_its_leases_would_lapse() {
    for (backend, store, _dir) in stores("cluster_leases::cut_off").await {
        store.seed_leases().await.expect("seed");
        let mut a = keeper(&store, "ms5-a");
        let owned = round(&mut a, T0).await;
        assert!(!owned.is_empty(), "{backend}");
        store.close().await;
        // Within the lease it keeps acting on what it holds…
        assert!(a.round(T0 + 5 * SEC).await.is_err(), "{backend}");
        assert_eq!(a.owned(), owned, "{backend}");
        // …and stops once the lease it last renewed has run out.
        assert!(a.round(T0 + 15 * SEC).await.is_err(), "{backend}");
        assert!(a.owned().is_empty(), "{backend}");
    }
}
