//! Wires the service: config → store → plant actors → sources → HTTP server, and takes it
//! down in order: WebSockets closed with 1001, telemetry flushed, server stopped.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};

use crate::actors::hub::{CloseAll, CloseRevoked, GoingAway};
use crate::actors::job_board::JobBoard;
use crate::actors::plant::{PlantHandle, PlantOptions};
use crate::actors::report::ShiftReporter;
use crate::actors::report_builder::ReportBuilder;
use crate::auth::{Auth, AuthError};
use crate::clock::Clock;
use crate::cluster::bus::Bus;
use crate::cluster::lease_keeper::LeaseSettings;
use crate::cluster::relay::Relay;
use crate::cluster::replica::Replica;
use crate::config::{Config, Profile};
use crate::flags::FeatureFlags;
use crate::http::{AppState, routes};
use crate::plc::logix::LogixSource;
use crate::plc::modbus::ModbusSource;
use crate::plc::mqtt::MqttSource;
use crate::plc::opcua::OpcUaSource;
use crate::plc::pccc::PcccSource;
use crate::plc::simulator::SimulatorSource;
use crate::plc::{TagSink, TagSource};
use crate::store::{Store, StoreError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Setting up sign-in.
    #[error("auth: {0}")]
    Auth(#[from] AuthError),
    /// Forwarding to a central.
    #[error("forward: {0}")]
    Forward(#[from] crate::forward::ForwardError),
    /// The channel to the other replicas.
    #[error("{0}")]
    Bus(#[from] crate::cluster::bus::BusError),
    /// Binding the HTTP port.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// host:port.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running service.
pub struct Application {
    port: u16,
    server: Option<Server>,
    handle: ServerHandle,
    plant: PlantHandle,
    store: Store,
    auth: Arc<Auth>,
    profile: Profile,
    first_admin: String,
    reporter: actix::Addr<ShiftReporter>,
    replica: Option<Replica>,
}

/// Name of the display token `serve` makes for a development machine's own board.
pub const LOCAL_BOARD: &str = "local board (development, until the first account)";

impl Application {
    /// Builds and starts everything but does not wait; call [`Application::run_until_stopped`].
    pub async fn build(config: Config, clock: Clock) -> Result<Application, StartupError> {
        // The port first: a busy one must stop the start before anything else runs
        // (the plant simulator on someone else's database, say).
        let addr = format!("{}:{}", config.settings.http.host, config.settings.http.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = local.port();
        let first_admin = config.command_line("user add --username <name> --role admin");
        tracing::info!(config = config.describe(), "starting");
        let metrics = crate::metrics::install();
        crate::metrics::record_start();
        // Pages go out over HTTPS with rustls; ring is its crypto. Fails only if a provider
        // is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let settings = Arc::new(config.settings);
        let store = Store::connect(&settings.store.url).await?;
        store.migrate().await?;
        // PostgreSQL: today's partitions exist before the first write.
        store.maintain(clock.now_ms(), &settings.store.retention()).await?;
        // Capture on (or off) before anything is recorded, so no record misses the outbox.
        crate::forward::start(&settings.forward, store.clone(), clock.clone()).await?;
        let plant_model = Arc::new(config.plant);
        let flags = Arc::new(FeatureFlags::new(&settings.flags, &store.flag_changes().await?));
        let auth = Arc::new(Auth::new(settings.auth.clone(), store.clone(), clock.clone()).await?);
        if store.user_count().await? == 0 {
            tracing::warn!(
                "no accounts yet: sign-in is refused until you create the first admin with \
                 `{first_admin}` (the password is asked for, or read from stdin)"
            );
        }
        // Live state between replicas; the bus connects once the plant is up.
        let bus = match settings.redis.url.as_deref().filter(|_| settings.cluster.enabled) {
            Some(url) => Some(Bus::new(
                &settings.cluster.replica_name(port),
                url,
                &settings.redis.channel,
            )?),
            None => None,
        };
        let options = PlantOptions {
            bus: bus.as_ref().map(|(bus, _)| bus.clone()),
            replica: settings.cluster.enabled.then(|| settings.cluster.replica_name(port)),
            flags: flags.clone(),
            coalesce: settings.websocket.coalesce,
            raw_samples: settings.store.raw_samples,
            batch_max: settings.store.batch_max,
            backlog_max: settings.store.backlog_max,
            flush_interval: settings.store.flush_interval,
            pager: settings.pager.clone(),
        };
        let plant = PlantHandle::start(plant_model.clone(), store.clone(), options, clock.clone()).await?;
        {
            // Sign-outs, account changes and display-token revocations made elsewhere
            // (another replica, `ms5 user passwd`) reach this process within 30 s, and
            // close the WebSockets they concern.
            let (auth, hub) = (auth.clone(), plant.hub().clone());
            actix_rt::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(30));
                every.tick().await;
                loop {
                    every.tick().await;
                    match auth.reload().await {
                        Ok(news) => news.into_iter().for_each(|r| hub.do_send(CloseRevoked(r))),
                        Err(e) => tracing::warn!(error = %e, "cannot reload token revocations"),
                    }
                }
            });
        }
        let replica = if settings.cluster.enabled {
            let lease = LeaseSettings {
                replica: settings.cluster.replica_name(port),
                ttl: settings.cluster.lease_ttl,
            };
            let replica = Replica::new(store.clone(), plant.clone(), lease, clock.clone()).await?;
            tracing::info!(replica = replica.name(), "running as one replica of several");
            replica.spawn();
            Some(replica)
        } else {
            None
        };
        let jobs = JobBoard::new(store.clone(), plant.clone(), clock.clone());
        crate::actors::job_board::start(jobs.clone(), settings.websocket.job_progress).await?;
        if let (Some((bus, queue)), Some(replica)) = (bus, replica.as_ref()) {
            let relay = Relay {
                plant: plant.clone(),
                jobs: jobs.clone(),
                replica: replica.clone(),
                clock: clock.clone(),
            };
            bus.run(queue, plant.hub().clone(), move |msg| relay.receive(msg));
        }
        let reports = ReportBuilder::new(store.clone(), plant.clone(), jobs.clone(), clock.clone());
        let reporter = ShiftReporter::new(
            reports.clone(),
            clock.clone(),
            settings.reports.check_interval,
            settings.reports.catch_up,
        )
        .start_supervised();
        let mut sources: Vec<Box<dyn TagSource>> = Vec::new();
        if settings.simulator.enabled {
            let sim = &settings.simulator;
            sources.push(Box::new(SimulatorSource::new(
                &plant_model,
                sim.seed,
                sim.speed,
                sim.step,
                clock.clone(),
            )));
            tracing::info!(seed = sim.seed, speed = sim.speed, "simulated plant running");
        }
        if !settings.opcua.endpoints.is_empty() {
            let endpoints = settings.opcua.endpoints.clone();
            tracing::info!(endpoints = endpoints.len(), "OPC UA sources starting");
            sources.push(Box::new(OpcUaSource::new(
                endpoints,
                settings.opcua.reconnect(),
                plant_model.clone(),
                clock.clone(),
            )));
        }
        if !settings.modbus.endpoints.is_empty() {
            let endpoints = settings.modbus.endpoints.clone();
            tracing::info!(endpoints = endpoints.len(), "Modbus sources starting");
            sources.push(Box::new(ModbusSource::new(
                endpoints,
                settings.modbus.reconnect(),
                plant_model.clone(),
                clock.clone(),
            )));
        }
        if !settings.logix.endpoints.is_empty() {
            tracing::info!(endpoints = settings.logix.endpoints.len(), "Logix sources starting");
            sources.push(Box::new(LogixSource::new(
                settings.logix.endpoints.clone(),
                settings.logix.reconnect(),
                plant_model.clone(),
                clock.clone(),
            )));
        }
        if !settings.pccc.endpoints.is_empty() {
            tracing::info!(endpoints = settings.pccc.endpoints.len(), "PCCC sources starting");
            sources.push(Box::new(PcccSource::new(
                settings.pccc.endpoints.clone(),
                settings.pccc.reconnect(),
                plant_model.clone(),
                clock.clone(),
            )));
        }
        if !settings.mqtt.endpoints.is_empty() {
            let endpoints = settings.mqtt.endpoints.clone();
            tracing::info!(endpoints = endpoints.len(), "MQTT sources starting");
            sources.push(Box::new(MqttSource::new(
                endpoints,
                settings.mqtt.reconnect(),
                plant_model.clone(),
                clock.clone(),
            )));
        }
        for source in sources {
            let sink = TagSink::new(plant.clone(), source.name());
            source.start(sink);
        }
        crate::actors::trend_watch::spawn(
            plant.clone(),
            store.clone(),
            settings.analytics.trend(),
            settings.analytics.trend_refresh,
            flags.clone(),
            clock.clone(),
        );
        spawn_retention(store.clone(), settings.store.retention(), clock.clone());
        let state = web::Data::new(AppState {
            plant: plant.clone(),
            store: store.clone(),
            metrics,
            settings: settings.clone(),
            clock,
            ingest: TagSink::new(plant.clone(), "ingest"),
            auth: auth.clone(),
            flags,
            trusted_proxies: settings.http.trusted_proxies.clone(),
            first_admin: first_admin.clone(),
            jobs,
            reports,
        });
        let max_body = settings.http.max_body_bytes;
        let origins = settings.http.allowed_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(|cfg| routes(cfg, max_body, &origins))
        })
        .disable_signals()
        // Frames are small and latency-bound: no Nagle delay waiting for the peer's ACK.
        .tcp_nodelay(true)
        // A connection keeps its grown write buffer (up to 128 KiB). It starts at 8 KiB and
        // takes body chunks while it holds less than 4 KiB; WebSocket chunks are at most 4 KiB
        // (`outbox_body::CHUNK_BYTES`), so it never grows past the 8 KiB it started with.
        .h1_write_buffer_size(4 * 1024)
        .shutdown_timeout(5);
        if let Some(workers) = settings.http.workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: format!("port {port}"),
                source,
            })?
            .run();
        tracing::info!(addr = %local, "listening");
        Ok(Application {
            port,
            handle: server.handle(),
            server: Some(server),
            plant,
            store,
            auth,
            profile: settings.profile,
            first_admin,
            reporter,
            replica,
        })
    }

    /// The command that creates the first admin for this configuration and database
    /// (`ms5 --config /abs/file.toml user add …`), as hints print it.
    pub fn first_admin_command(&self) -> &str {
        &self.first_admin
    }

    /// In the development profile, while no account exists: a fresh read-only display
    /// token for this machine's board (earlier ones of the kind are revoked), as a link.
    /// `serve` prints it on an interactive terminal only, never to the log.
    pub async fn local_board_link(&self) -> Result<Option<String>, AuthError> {
        if self.profile != Profile::Development || self.store.user_count().await? > 0 {
            return Ok(None);
        }
        for old in self.store.display_tokens().await? {
            if old.name == LOCAL_BOARD && old.revoked_at.is_none() {
                self.auth.revoke_display_token(old.id, "ms5 serve").await?;
            }
        }
        let (token, _) = self.auth.create_display_token(LOCAL_BOARD, &None, "ms5 serve").await?;
        Ok(Some(format!("http://localhost:{}/#token={token}", self.port)))
    }

    /// Sign-in and credentials (tests mint tokens with it).
    pub fn auth(&self) -> &Arc<Auth> {
        &self.auth
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The plant actors.
    pub fn plant(&self) -> &PlantHandle {
        &self.plant
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The shift reporter (tests send it `CheckShifts` after moving a manual clock).
    pub fn reporter(&self) -> &actix::Addr<ShiftReporter> {
        &self.reporter
    }

    /// This process as one replica of several (`cluster.enabled`); tests run its lease
    /// rounds after moving a manual clock.
    pub fn replica(&self) -> Option<&Replica> {
        self.replica.as_ref()
    }

    /// A handle that stops the service gracefully from elsewhere.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            handle: self.handle.clone(),
            plant: self.plant.clone(),
            replica: self.replica.clone(),
        }
    }

    /// Serves until the server stops (see [`Stopper::stop`], or SIGINT/SIGTERM when
    /// `signals` is true).
    pub async fn run_until_stopped(mut self, signals: bool) -> std::io::Result<()> {
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        if signals {
            let stopper = self.stopper();
            actix_rt::spawn(async move {
                wait_for_signal().await;
                tracing::info!("shutting down");
                stopper.stop().await;
            });
        }
        server.await
    }
}

/// Stops a running service in order.
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    plant: PlantHandle,
    replica: Option<Replica>,
}

impl Stopper {
    /// Closes WebSockets with 1001, flushes telemetry, hands a replica's shard leases
    /// over, stops the HTTP server.
    pub async fn stop(&self) {
        let _ = self.plant.hub().send(CloseAll(GoingAway::Shutdown)).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.plant.flush()).await;
        if let Some(replica) = &self.replica {
            replica.leave().await;
        }
        self.handle.stop(true).await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Deletes what is past its retention and (PostgreSQL) makes the coming days' partitions,
/// at start and hourly.
fn spawn_retention(store: Store, retention: crate::store::Retention, clock: Clock) {
    actix_rt::spawn(async move {
        let mut every = actix_rt::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match store.maintain(clock.now_ms(), &retention).await {
                Ok(p) if p.raw + p.telemetry + p.audit > 0 || p.partitions > 0 => tracing::info!(
                    raw = p.raw,
                    telemetry = p.telemetry,
                    audit = p.audit,
                    partitions = p.partitions,
                    "records past retention deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
        }
    });
}
