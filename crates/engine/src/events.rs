//! The event bus behind `GET /events` (`docker events`): what happened to containers,
//! images and volumes, in Docker's shape.
//!
//! Why in memory only: Docker keeps its events in memory too (a ring of the last 1000 for
//! `since`, plus live subscribers); they are a notification stream, not a journal, and a
//! daemon restart starts an empty one.
//!
//! Invariant: emitting never blocks on a subscriber. Each subscriber gets a bounded channel;
//! one that falls [`SUBSCRIBER_DEPTH`] events behind is dropped (its stream ends, as Docker
//! ends a subscriber that cannot keep up), so a stuck client cannot slow a container start.
//!
//! Emitters call [`Engine::emit`] or the `emit_*` helpers from one line in the verb that did
//! the work; `die` is emitted once per run by whoever sees the exit first
//! ([`Engine::note_exit`]: the supervisor's waiter, `stop`, a forced `remove`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::containers::record::ContainerRecord;
use crate::Engine;

/// Events kept for `since` replays (Docker keeps 1000 too).
pub const RING_SIZE: usize = 1000;
/// Events a live subscriber may fall behind before it is dropped.
pub const SUBSCRIBER_DEPTH: usize = 4096;

/// One event: Docker's `events.Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `container`, `image`, `volume`, …
    pub kind: String,
    /// `create`, `start`, `die`, `health_status: healthy`, …
    pub action: String,
    /// The object's id (a container id, an image id or reference, a volume name).
    pub actor_id: String,
    /// `name`, `image`, labels, `exitCode`, `signal`, …
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the epoch.
    pub time_nano: i64,
}

impl Event {
    /// An event of `kind` happening now.
    pub fn new(kind: &str, action: &str, actor_id: &str) -> Event {
        let time_nano = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Event {
            kind: kind.into(),
            action: action.into(),
            actor_id: actor_id.into(),
            attributes: BTreeMap::new(),
            time_nano,
        }
    }

    /// With one more attribute.
    pub fn attr(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Docker's JSON, with the legacy `status`/`id`/`from` of container and image events.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "Type": self.kind,
            "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": self.attributes},
            "scope": "local",
            "time": self.time_nano.div_euclid(1_000_000_000),
            "timeNano": self.time_nano,
        });
        if matches!(self.kind.as_str(), "container" | "image") {
            v["status"] = json!(self.action);
            v["id"] = json!(self.actor_id);
            if let Some(image) = self.attributes.get("image") {
                v["from"] = json!(image);
            }
        }
        v
    }
}

#[derive(Debug, Default)]
struct Inner {
    ring: VecDeque<Event>,
    subscribers: Vec<SyncSender<Event>>,
}

/// The ring of recent events and the live subscribers. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct EventBus {
    inner: Arc<Mutex<Inner>>,
    /// Per container, the `finishedAt` of the last run whose `die` was emitted.
    dies: Arc<Mutex<HashMap<String, String>>>,
}

/// A live subscription: the replayed events first, then new ones.
#[derive(Debug)]
pub struct Subscription {
    /// Events from the ring at or after `since`, oldest first.
    pub replay: Vec<Event>,
    rx: Receiver<Event>,
}

impl Subscription {
    /// The next live event, waiting at most `timeout`; `Err(true)` when the subscription was
    /// dropped (the subscriber fell behind), `Err(false)` on a timeout.
    pub fn next(&self, timeout: Duration) -> Result<Event, bool> {
        use std::sync::mpsc::RecvTimeoutError;
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => false,
            RecvTimeoutError::Disconnected => true,
        })
    }
}

impl EventBus {
    /// Records `ev` and hands it to every subscriber that keeps up.
    pub fn emit(&self, ev: Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .subscribers
            .retain(|tx| match tx.try_send(ev.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            });
        if inner.ring.len() == RING_SIZE {
            inner.ring.pop_front();
        }
        inner.ring.push_back(ev);
    }

    /// Subscribes; with `since` (nanoseconds) the ring's events from then on are replayed.
    /// Replay and subscription are taken under one lock: nothing is missed or seen twice.
    pub fn subscribe(&self, since: Option<i64>) -> Subscription {
        let (tx, rx) = sync_channel(SUBSCRIBER_DEPTH);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let replay = match since {
            Some(s) => inner
                .ring
                .iter()
                .filter(|e| e.time_nano >= s)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        inner.subscribers.push(tx);
        Subscription { replay, rx }
    }
}

impl Engine {
    /// Publishes an event.
    pub fn emit(&self, ev: Event) {
        self.events.emit(ev);
    }

    /// Subscribes to events (see [`EventBus::subscribe`]).
    pub fn subscribe_events(&self, since: Option<i64>) -> Subscription {
        self.events.subscribe(since)
    }

    /// The shared bus, for threads that outlive a borrow of the engine.
    pub(crate) fn event_bus(&self) -> EventBus {
        self.events.clone()
    }

    /// A container event with Docker's attributes: labels, `name`, `image`, then `extra`.
    pub(crate) fn container_event(
        &self,
        rec: &ContainerRecord,
        action: &str,
        extra: &[(&str, String)],
    ) -> Event {
        let mut ev = Event::new("container", action, &rec.id);
        ev.attributes = rec.labels.clone();
        ev = ev.attr("name", rec.name.clone());
        ev = ev.attr("image", rec.options.image.clone());
        for (k, v) in extra {
            ev = ev.attr(k, v.clone());
        }
        ev
    }

    /// Emits a container event.
    pub(crate) fn emit_container(
        &self,
        rec: &ContainerRecord,
        action: &str,
        extra: &[(&str, String)],
    ) {
        self.emit(self.container_event(rec, action, extra));
    }

    /// Emits a container event for `name_or_id` if it exists.
    pub(crate) fn emit_container_id(
        &self,
        name_or_id: &str,
        action: &str,
        extra: &[(&str, String)],
    ) {
        if let Ok(rec) = self.find_container(name_or_id) {
            self.emit_container(&rec, action, extra);
        }
    }

    /// Emits `exec_start: <cmd>`; returns the `exec_die` to emit (with `exitCode`) at its end.
    pub(crate) fn exec_started(
        &self,
        container: &str,
        exec_id: &str,
        cmd: &[String],
    ) -> Option<Event> {
        let rec = self.find_container(container).ok()?;
        let extra = [("execID", exec_id.to_string())];
        self.emit_container(&rec, &format!("exec_start: {}", cmd.join(" ")), &extra);
        Some(self.container_event(&rec, "exec_die", &extra))
    }

    /// Emits `attach` for a container a client attached to (for the attach endpoint).
    pub fn note_attach(&self, name_or_id: &str) {
        self.emit_container_id(name_or_id, "attach", &[]);
    }

    /// Emits a volume event (`driver` local, as berth has only that one).
    pub(crate) fn emit_volume(&self, name: &str, action: &str, extra: &[(&str, String)]) {
        let mut ev = Event::new("volume", action, name).attr("driver", "local");
        for (k, v) in extra {
            ev = ev.attr(k, v.clone());
        }
        self.emit(ev);
    }

    /// Emits a volume `mount` per volume of a container being started.
    pub(crate) fn emit_mounts(&self, rec: &ContainerRecord) {
        for m in rec.mounts.iter().filter(|m| m.kind == "volume") {
            let extra = [
                ("container", rec.id.clone()),
                ("destination", m.destination.clone()),
                ("propagation", m.propagation.clone()),
                ("read/write", m.rw.to_string()),
            ];
            self.emit_volume(&m.name, "mount", &extra);
        }
    }

    /// Emits an image event; `name` is the reference or id it concerns.
    pub(crate) fn emit_image(&self, id: &str, action: &str, name: &str) {
        self.emit(Event::new("image", action, id).attr("name", name));
    }

    /// Emits an image event for `name` (a reference), with its id when it resolves.
    pub(crate) fn emit_image_named(&self, name: &str, action: &str, target: &str) {
        let id = self.store.resolve(name).map(|d| d.to_string());
        self.emit_image(&id.unwrap_or_else(|_| name.to_string()), action, target);
    }

    /// `untag` and `delete` events of an image removal.
    pub(crate) fn emit_removals(&self, events: &[berth_image::RemoveEvent]) {
        for ev in events {
            match ev {
                berth_image::RemoveEvent::Untagged(r) => self.emit_image(r, "untag", r),
                berth_image::RemoveEvent::Deleted(d) => {
                    self.emit_image(&d.to_string(), "delete", &d.to_string())
                }
            }
        }
    }

    /// A `load` event per loaded image.
    pub(crate) fn emit_loaded(&self, report: &berth_image::LoadReport) {
        for (id, refs) in &report.images {
            let name = refs
                .first()
                .map_or_else(|| id.to_string(), |r| r.to_string());
            self.emit_image(&id.to_string(), "load", &name);
        }
    }

    /// After a create: `create`; returns the record.
    pub(crate) fn created(&self, rec: ContainerRecord) -> ContainerRecord {
        self.emit_container(&rec, "create", &[]);
        rec
    }

    /// At start: the volumes' `mount`s, the health state reset, then `start`.
    pub(crate) fn announce_start(&self, rec: &ContainerRecord) {
        self.emit_mounts(rec);
        self.init_health(rec);
        self.emit_container(rec, "start", &[]);
    }

    /// After a signal was delivered: `kill`, and a paused container thawed if it must end.
    pub(crate) fn killed(&self, rec: &ContainerRecord, sig: i32) {
        self.emit_container(rec, "kill", &[("signal", sig.to_string())]);
        self.thaw_if_ending(rec, sig);
    }

    /// After a removal: `destroy`; the container's `die` bookkeeping goes with it.
    pub(crate) fn destroyed(&self, rec: &ContainerRecord) {
        let mut dies = self.events.dies.lock().unwrap_or_else(|p| p.into_inner());
        dies.remove(&rec.id);
        drop(dies);
        self.emit_container(rec, "destroy", &[]);
    }

    /// After a stop: `die` (if no one announced it yet), then `stop`, Docker's order.
    pub(crate) fn stopped(&self, rec: &ContainerRecord) -> crate::containers::StopOutcome {
        self.note_exit_of(rec);
        self.emit_container(rec, "stop", &[]);
        crate::containers::StopOutcome::Done
    }

    /// Emits `die` for the run of `rec` that ended at `finished_at` with `code`, unless it
    /// was already emitted (the waiter and `stop` may both see the same exit).
    pub(crate) fn note_exit(&self, rec: &ContainerRecord, code: i32, finished_at: &str) {
        {
            let mut dies = self.events.dies.lock().unwrap_or_else(|p| p.into_inner());
            if dies.get(&rec.id).is_some_and(|f| f == finished_at) {
                return;
            }
            dies.insert(rec.id.clone(), finished_at.to_string());
        }
        let t = |s: &str| berth_image::time::parse_rfc3339(s);
        let ran = rec.started_at.as_deref().and_then(t).zip(t(finished_at));
        let ran = ran.map_or(0, |(a, b)| (b - a).max(0));
        let extra = [
            ("exitCode", code.to_string()),
            ("execDuration", ran.to_string()),
        ];
        self.emit_container(rec, "die", &extra);
    }

    /// Emits `die` for `rec` if its exit is recorded and not yet announced.
    pub(crate) fn note_exit_of(&self, rec: &ContainerRecord) {
        if let Ok(Some(e)) = berth_shim::read_exit(&self.shim_dir(&rec.id)) {
            self.note_exit(rec, e.exit_code, &e.finished_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_replays_and_slow_subscribers_are_dropped() {
        let bus = EventBus::default();
        let first = Event::new("container", "create", "a");
        bus.emit(first.clone());
        let sub = bus.subscribe(Some(first.time_nano));
        assert_eq!(sub.replay, vec![first.clone()]);
        assert!(bus.subscribe(None).replay.is_empty());
        bus.emit(Event::new("container", "start", "a"));
        assert_eq!(sub.next(Duration::from_secs(1)).unwrap().action, "start");
        assert_eq!(sub.next(Duration::from_millis(10)), Err(false));
        for _ in 0..SUBSCRIBER_DEPTH + RING_SIZE {
            bus.emit(Event::new("volume", "create", "v"));
        }
        let n = std::iter::from_fn(|| sub.next(Duration::ZERO).ok()).count();
        assert_eq!(n, SUBSCRIBER_DEPTH);
        assert_eq!(sub.next(Duration::ZERO), Err(true));
        assert_eq!(bus.subscribe(Some(0)).replay.len(), RING_SIZE);
    }

    #[test]
    fn dockers_shape() {
        let v = Event::new("container", "die", "abc")
            .attr("image", "busybox")
            .attr("exitCode", "3")
            .to_json();
        assert_eq!(v["Type"], "container");
        assert_eq!(v["status"], "die");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(v["scope"], "local");
        let v = Event::new("volume", "create", "v").to_json();
        assert!(v.get("status").is_none());
    }
}
