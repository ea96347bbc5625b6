//! The baseline: the barest axum server that answers like a detector — it
//! reads the request body and returns a fixed ~300-byte JSON answer, either
//! at once or after `tokio::time::sleep`. It is the ceiling every mockdet
//! figure is divided by, so it runs from this same binary (hidden
//! `mockdet bench-baseline-server`) with the same runtime, listen backlog
//! and `TCP_NODELAY` as a detector.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::serve::ListenerExt;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpSocket};

use super::error::BenchError;

/// Same pending-connection queue as a detector's listener.
const LISTEN_BACKLOG: u32 = 4096;

/// A plausible detector answer of about 300 bytes.
pub(crate) const BODY: &str = concat!(
    r#"{"detector_id":"baseline","confidence":0.95,"category":"pii","#,
    r#""severity":"medium","findings":[{"category":"pii","subcategory":"email","#,
    r#""confidence":0.95,"start":93,"end":110}],"processing_time_ms":0.0,"#,
    r#""version":"1.0.0","request_id":"baseline-1","#,
    r#""timestamp":"2026-01-01T00:00:00.000Z","total_findings":1}"#
);

/// Options of `mockdet bench-baseline-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct BaselineArgs {
    /// Sleep this long before answering (0 = answer at once).
    #[arg(long, default_value_t = 0)]
    sleep_ms: u64,
    /// How many listeners to open (for the spawn-to-ready comparison).
    #[arg(long, default_value_t = 1)]
    listeners: usize,
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
}

/// Runs the baseline until killed, after printing the same kind of ready
/// line as `mockdet`: `{"ready":{"baseline0":"http://127.0.0.1:PORT"}}`.
pub fn serve_baseline(args: &BaselineArgs) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Runtime::new().map_err(BenchError::Runtime)?;
    runtime.block_on(async {
        let delay = Duration::from_millis(args.sleep_ms);
        let app = Router::new()
            .route("/detect", post(answer))
            .with_state(delay);
        let mut urls = Map::new();
        for i in 0..args.listeners.max(1) {
            let listen = |source| BenchError::Listen {
                addr: args.bind,
                source,
            };
            let listener = bind(SocketAddr::new(args.bind, 0)).map_err(listen)?;
            let addr = listener.local_addr().map_err(listen)?;
            urls.insert(
                format!("baseline{i}"),
                Value::String(format!("http://{addr}")),
            );
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(axum::serve(listener, app.clone()).into_future());
        }
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", json!({ "ready": urls }));
        let _ = stdout.flush();
        drop(stdout);
        // The benchmark kills this process; Ctrl-C ends a manual run.
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Reads the whole body (as any real server must), optionally sleeps after
/// it, and answers the fixed body.
async fn answer(State(delay): State<Duration>, _body: Bytes) -> impl IntoResponse {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_body_is_json_of_about_300_bytes() {
        let value: Value = serde_json::from_str(BODY).unwrap();
        assert_eq!(value["detector_id"], "baseline");
        assert!((280..=340).contains(&BODY.len()), "{}", BODY.len());
    }
}
