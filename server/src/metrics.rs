//! Operational figures: Prometheus metrics for `/metrics`, and the recent latency window and
//! counters that `/api/status` reports.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use emotion_core::{Engine, ModelKind};
use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
    kind: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Latency buckets from 0.25 ms to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    detection_seconds: Histogram,
    pub ws_open: Gauge,
    pub ws_frames: Counter,
    pub ws_dropped: Counter,
    served: AtomicU64,
    window: Mutex<VecDeque<f64>>,
}

/// Recent request latencies kept for percentiles.
const WINDOW: usize = 4096;

/// Percentiles of the recent latencies, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Metrics {
    /// The server's metrics, with `engine`'s figures (cache, model calls) read at each scrape.
    pub fn new(engine: Engine) -> Self {
        let mut registry = Registry::with_prefix("emotion");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = HistogramFamily::new_with_constructor(latency_histogram);
        let detection_seconds = latency_histogram();
        let (ws_open, ws_frames, ws_dropped) =
            (Gauge::default(), Counter::default(), Counter::default());
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "detection_duration_seconds",
            "Time to classify one frame (decode, crop, inference), REST and WebSocket",
            detection_seconds.clone(),
        );
        registry.register("websocket_open", "Open WebSocket streams", ws_open.clone());
        registry.register(
            "websocket_frames",
            "Frames received on WebSockets",
            ws_frames.clone(),
        );
        registry.register(
            "websocket_dropped_frames",
            "WebSocket frames replaced by a newer one before they were processed",
            ws_dropped.clone(),
        );
        registry.register_collector(Box::new(EngineCollector(engine)));
        Metrics {
            registry,
            requests,
            latency,
            detection_seconds,
            ws_open,
            ws_frames,
            ws_dropped,
            served: AtomicU64::new(0),
            window: Mutex::new(VecDeque::with_capacity(WINDOW)),
        }
    }
}

/// The engine's own counters, read when `/metrics` is scraped rather than mirrored.
#[derive(Debug)]
struct EngineCollector(Engine);

impl Collector for EngineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cache = self.0.cache_stats();
        for (name, help, value) in [
            ("cache_hits", "Results served from the cache", cache.hits),
            ("cache_misses", "Results computed by a model", cache.misses),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let entries = ConstGauge::new(i64::try_from(cache.entries).unwrap_or(i64::MAX));
        entries.encode(encoder.encode_descriptor(
            "cache_entries",
            "Entries in the result cache",
            None,
            entries.metric_type(),
        )?)?;
        let mut calls = encoder.encode_descriptor(
            "model_calls",
            "Work sent to each model: local inferences, remote HTTP calls (retries included)",
            None,
            MetricType::Counter,
        )?;
        for model in self.0.models() {
            let labels = ModelLabels {
                model: model.id().to_owned(),
                kind: match model.kind() {
                    ModelKind::Local => "local",
                    ModelKind::Remote => "remote",
                },
            };
            ConstCounter::new(model.status().calls).encode(calls.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Records one finished HTTP request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Records one classified frame (REST or WebSocket) and its processing time.
    pub fn record_detection(&self, processing_ms: f64) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.detection_seconds.observe(processing_ms / 1e3);
        let mut window = self.window.lock();
        if window.len() == WINDOW {
            window.pop_front();
        }
        window.push_back(processing_ms);
    }

    pub fn detections_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub fn percentiles(&self) -> Percentiles {
        let mut values: Vec<f64> = self.window.lock().iter().copied().collect();
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Percentiles {
            samples: values.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use emotion_core::{DetectRequest, Frame};

    use super::*;

    fn engine() -> Engine {
        Engine::builder().workers(1).build().unwrap()
    }

    #[test]
    fn percentiles_come_from_the_recent_window() {
        let m = Metrics::new(engine());
        for ms in 1..=100 {
            m.record_detection(f64::from(ms));
        }
        let p = m.percentiles();
        assert_eq!((p.samples, p.p50.round(), p.p99), (100, 51.0, 99.0));
        assert_eq!(m.detections_served(), 100);
    }

    #[tokio::test]
    async fn exposition_names_requests_cache_and_model_calls() {
        let engine = engine();
        let m = Metrics::new(engine.clone());
        m.record_request("POST", "/api/detect", 200, 0.002);
        let face = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/faces/crops/astronaut_48.png"
        ))
        .unwrap();
        for _ in 0..3 {
            let request = DetectRequest::new(Frame::Encoded(face.clone()));
            engine.detect(request).await.unwrap();
        }
        let text = m.encode().unwrap();
        for line in [
            r#"emotion_http_requests_total{method="POST",route="/api/detect",status="200"} 1"#,
            "emotion_cache_hits_total 2",
            "emotion_cache_misses_total 1",
            // moka counts entries lazily, so only the kind of this one is certain.
            "# TYPE emotion_cache_entries gauge",
            r#"emotion_model_calls_total{model="local/mini-xception-fer2013",kind="local"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
