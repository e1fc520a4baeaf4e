//! A TCP balancer for tests, as a cluster of relays is deployed behind one: each new
//! connection goes to the first of its relays that accepts it, so a dead relay is passed
//! over (as a load balancer's health check would), with no stickiness. Two balancers with the
//! relays in different orders send two clients to different relays.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The balancer, listening on a loopback port until dropped.
pub struct Balancer {
    /// Where clients connect.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Balancer {
    /// Starts one in front of `relays` (in the order they are tried), on the current runtime.
    pub async fn start(relays: Vec<SocketAddr>) -> anyhow::Result<Balancer> {
        anyhow::ensure!(!relays.is_empty(), "a balancer needs relays");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let relays = Arc::new(relays);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let relays = Arc::clone(&relays);
                tokio::spawn(async move {
                    let Some(mut relay) = reach(&relays).await else {
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

/// The first of `relays` that accepts a connection.
async fn reach(relays: &[SocketAddr]) -> Option<TcpStream> {
    for addr in relays {
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
