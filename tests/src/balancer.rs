//! A TCP load balancer for tests, as a cluster of relays is deployed behind one: each new
//! connection goes to the next relay in turn, skipping those that refuse it (a dead relay),
//! with no stickiness.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The balancer, listening on a loopback port until dropped.
pub struct Balancer {
    /// Where clients connect.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Balancer {
    /// Starts one in front of `relays`, on the current runtime.
    pub async fn start(relays: Vec<SocketAddr>) -> anyhow::Result<Balancer> {
        anyhow::ensure!(!relays.is_empty(), "a balancer needs relays");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let relays = Arc::new(relays);
        let next = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (relays, first) = (Arc::clone(&relays), next.fetch_add(1, Ordering::Relaxed));
                tokio::spawn(async move {
                    let Some(mut relay) = reach(&relays, first).await else {
                        return;
                    };
                    let mut client = client;
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut relay).await;
                });
            }
        });
        Ok(Balancer { addr, task })
    }
}

/// The first relay from `first` on (in turn) that accepts a connection.
async fn reach(relays: &[SocketAddr], first: usize) -> Option<TcpStream> {
    for i in 0..relays.len() {
        let addr = relays.get((first + i) % relays.len())?;
        if let Ok(stream) = TcpStream::connect(addr).await {
            return Some(stream);
        }
    }
    None
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
