#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::{Location, Store, postgres};

async fn cluster(name: &str, lease: Duration) -> Option<(Arc<Cluster>, Store)> {
    let url = postgres::test_database(name).await?;
    let store = Store::connect(&Location::Postgres(url), &postgres::Options::default())
        .await
        .unwrap();
    let pool = store.postgres().unwrap().pool().clone();
    let cluster = Cluster::new(
        pool,
        (
            "ws://127.0.0.1:1".to_owned(),
            crate::tls::client(None).unwrap(),
        ),
        lease,
        Arc::new(Metrics::default()),
    )
    .unwrap();
    Some((cluster, store))
}

/// The leases of `node` that have not run out.
async fn live(store: &Store, node: &str) -> i64 {
    let client = store.postgres().unwrap().pool().get().await.unwrap();
    client
        .query_one(
            "SELECT count(*) FROM leases WHERE node = $1 AND expires > clock_timestamp()",
            &[&node],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_given_up_at_any_moment_leave_no_lease_behind_once_the_relay_stops() {
    let Some((cluster, store)) = cluster("claims_given_up", Duration::from_secs(60)).await else {
        return;
    };
    // Each claim is abandoned after a different while: before, during and after its
    // statements, so some are dropped between taking the row and hearing back.
    let mut finished = 0;
    for i in 0..200u64 {
        let doc = format!("d{i}");
        let wait = Duration::from_micros(i * 20);
        if tokio::time::timeout(wait, cluster.claim(&doc))
            .await
            .is_ok()
        {
            finished += 1;
        }
    }
    cluster.release_all().await;
    assert_eq!(
        live(&store, cluster.node()).await,
        0,
        "{finished} claims finished"
    );
    assert_eq!(cluster.held().len(), 0);
    // A relay giving its leases back takes no more.
    let refused = cluster.claim("late").await.unwrap_err();
    assert!(refused.to_string().contains("stopping"), "{refused}");
    assert_eq!(live(&store, cluster.node()).await, 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_no_room_takes_is_given_back_within_about_a_lease() {
    let lease = Duration::from_millis(600);
    let Some((cluster, store)) = cluster("unserved", lease).await else {
        return;
    };
    // A client claimed "orphan" and left before its room started; "served" has its room.
    assert!(matches!(
        cluster.claim("orphan").await.unwrap(),
        Owner::Here
    ));
    assert!(matches!(
        cluster.claim("served").await.unwrap(),
        Owner::Here
    ));
    assert!(cluster.serve("served").is_some());
    let shutdown = CancellationToken::new();
    let renewing = tokio::spawn(Arc::clone(&cluster).renew_until(shutdown.clone()));
    tokio::time::sleep(lease * 3).await;
    assert!(cluster.holding("orphan").is_none());
    assert!(
        cluster.holding("served").is_some(),
        "a served lease is kept"
    );
    assert_eq!(live(&store, cluster.node()).await, 1);
    shutdown.cancel();
    renewing.await.unwrap();
    cluster.release_all().await;
    store.close().await;
}
