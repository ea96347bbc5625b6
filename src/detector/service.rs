//! What a detector's server calls for each request.
//!
//! Detection requests (a `POST` to any protocol's detection path) — the
//! traffic a load test sends — go straight to their wire: no route lookup,
//! no boxed body, no layer futures, no request extension. Everything else
//! goes through the detector's [`router`](super::router), which routes the
//! same requests to the same pipeline. Every answer, either way, echoes the
//! caller's ids (see [`ids`](super::ids)).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::response::Response;
use axum::{BoxError, Router};
use tower::ServiceExt;

use super::DetectorState;
use super::conn::{Arrival, Busy};
use super::ids;
use super::protocols::{self, Endpoint};

/// One detector as its server sees it: its state, for the direct path, and
/// its router, for the rest.
#[derive(Debug, Clone)]
pub(crate) struct DetectorService {
    state: Arc<DetectorState>,
    router: Router,
}

impl DetectorService {
    /// The service of the detector behind `state`.
    pub(crate) fn new(state: Arc<DetectorState>) -> Self {
        let router = super::router(state.clone());
        Self { state, router }
    }

    /// Counts a connection shed for lack of file descriptors, and says so in
    /// the log (on the first and then every power of two, so a descriptor
    /// famine does not also flood the log).
    pub(crate) fn shed(&self) {
        let counter = self
            .state
            .metrics
            .connections_shed
            .with_label_values(&[&self.state.name]);
        counter.inc();
        let shed = counter.get();
        if shed.is_power_of_two() {
            tracing::warn!(
                detector = %self.state.name,
                shed,
                "out of file descriptors: closing new connections at once; open ones are still served"
            );
        }
    }

    /// How long a client may take over a request's headers (and an idle
    /// keep-alive connection wait for the next request) or its body.
    pub(crate) fn read_timeout(&self) -> std::time::Duration {
        self.state.read_timeout()
    }

    /// Counts a connection cut because no request came on it within the
    /// read timeout (a half-sent head, or an idle keep-alive connection).
    pub(crate) fn headers_timed_out(&self) {
        self.state.client_timed_out("headers");
    }

    /// Answers one request that arrived as `arrival` says; `busy` keeps
    /// its connection from being cut for quiet until the answer is ready
    /// (a streamed answer holds a guard of its own).
    ///
    /// The future is returned as hyper stores it (no adapter around it): it
    /// is some 2.5 KiB, and every adapter would copy it once more per request.
    pub(crate) fn call<B>(
        &self,
        mut request: axum::http::Request<B>,
        arrival: Arrival,
        busy: Busy,
    ) -> impl Future<Output = Result<Response, Infallible>> + Send + use<B>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let route = match Endpoint::for_post(request.method(), request.uri().path()) {
            Some(endpoint) => Route::Direct(self.state.clone(), endpoint),
            None => Route::Router(self.router.clone()),
        };
        async move {
            let response = match route {
                Route::Direct(state, endpoint) => {
                    protocols::dispatch(&state, endpoint, request, Some(&arrival)).await
                }
                Route::Router(router) => {
                    let sent = ids::SentIds::of(request.headers());
                    request.extensions_mut().insert(arrival);
                    let request: Request = request.map(Body::new);
                    let answered: Result<Response, Infallible> = router.oneshot(request).await;
                    let mut response = answered.unwrap_or_else(|never| match never {});
                    sent.echo(response.headers_mut());
                    response
                }
            };
            drop(busy);
            Ok(response)
        }
    }
}

/// Where one request goes.
enum Route {
    Direct(Arc<DetectorState>, Endpoint),
    Router(Router),
}
