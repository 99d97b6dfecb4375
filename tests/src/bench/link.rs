//! An emulated network link on loopback: a TCP proxy that counts every byte in each
//! direction and, when throttled, delivers it as a link of a given bandwidth and
//! round-trip time would (Chrome's "Slow 3G": 400 kbit/s, 400 ms). Each direction is a
//! serial link: a chunk starts when the previous one has finished, takes
//! `len × 8 ÷ bandwidth` to send, and arrives half a round trip later. A new connection
//! waits one round trip before its first byte, for the TCP handshake.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A link's bandwidth (each direction) and round-trip time.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Bits per second in each direction.
    pub bits_per_second: f64,
    /// Round-trip time.
    pub rtt: Duration,
}

impl Shape {
    /// Chrome's "Slow 3G" preset as issue 7 states it: 400 kbit/s, 400 ms round trip.
    pub const SLOW_3G: Shape = Shape { bits_per_second: 400_000.0, rtt: Duration::from_millis(400) };

    /// The least time `bytes` and `round_trips` can take on this link:
    /// bytes ÷ bandwidth + round trips × RTT.
    pub fn floor(&self, bytes: u64, round_trips: u64) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / self.bits_per_second) + self.rtt * round_trips as u32
    }
}

/// Bytes that went through the link.
#[derive(Debug, Default)]
pub struct Counters {
    /// Client to server.
    pub up: AtomicU64,
    /// Server to client.
    pub down: AtomicU64,
    /// Connections opened.
    pub connections: AtomicU64,
}

impl Counters {
    /// (up, down) so far.
    pub fn bytes(&self) -> (u64, u64) {
        (self.up.load(Ordering::Relaxed), self.down.load(Ordering::Relaxed))
    }

    /// Zeroes the counters.
    pub fn reset(&self) {
        self.up.store(0, Ordering::Relaxed);
        self.down.store(0, Ordering::Relaxed);
        self.connections.store(0, Ordering::Relaxed);
    }
}

/// A running link: connect to `addr` to reach the server through it.
#[derive(Debug)]
pub struct Link {
    /// Where the link listens.
    pub addr: std::net::SocketAddr,
    /// What went through it.
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    /// Starts a link to `server`, shaped or (with `None`) only counting.
    pub async fn start(server: std::net::SocketAddr, shape: Option<Shape>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    c.connections.fetch_add(1, Ordering::Relaxed);
                    if let Some(shape) = shape {
                        tokio::time::sleep(shape.rtt).await;
                    }
                    let Ok(upstream) = TcpStream::connect(server).await else { return };
                    let _ = client.set_nodelay(true);
                    let _ = upstream.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (ur, uw) = upstream.into_split();
                    let up = tokio::spawn(pipe(cr, uw, shape, c.clone(), true));
                    let down = tokio::spawn(pipe(ur, cw, shape, c, false));
                    let _ = tokio::join!(up, down);
                });
            }
        });
        Ok(Self { addr, counters, task })
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies one direction, counting, and delaying each chunk as the shape says.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shape: Option<Shape>,
    counters: Arc<Counters>,
    up: bool,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut link_free = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let counter = if up { &counters.up } else { &counters.down };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        let at = match shape {
            None => Instant::now(),
            Some(s) => {
                let start = link_free.max(Instant::now());
                link_free = start + Duration::from_secs_f64(n as f64 * 8.0 / s.bits_per_second);
                link_free + s.rtt / 2
            }
        };
        if tx.send((at, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
