//! The `ms5` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ms5::clock::Clock;
use ms5::config::Config;
use ms5::startup::Application;
use ms5::store::Store;

/// MS5: live OEE, downtime and Andon for the factory floor.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file [default: config/default.toml, else the built-in one].
    #[arg(long, global = true, env = "MS5_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration and plant model, and exit.
    CheckConfig,
    /// Serve the simulated plant as an OPC UA server (a stand-in PLC), see `[opcua.server]`.
    Simulate,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ms5: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    ms5::init_logging(&config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            let machines = config.plant.machines.len();
            println!(
                "{}: ok ({} lines, {machines} machines, {} tags)",
                config.source,
                config.plant.lines.len(),
                config.plant.tags.len()
            );
            ExitCode::SUCCESS
        }
        Command::Simulate => {
            let s = &config.settings;
            match ms5::plc::opcua_server::run_simulation(&config.plant, &s.opcua.server, &s.simulator, Clock::System)
                .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ms5: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate => match Store::connect(&config.settings.store.url).await {
            Ok(store) => match store.migrate().await {
                Ok(()) => {
                    println!("migrations applied to {}", config.settings.store.url);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ms5: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("ms5: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve => match Application::build(config, Clock::System).await {
            Ok(app) => {
                let code = match app.run_until_stopped(true).await {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("ms5: server error: {e}");
                        1
                    }
                };
                // Sockets are closed and telemetry is flushed by now. Exit here: tearing
                // the actor system down would only restart supervised actors on a runtime
                // that is going away.
                std::process::exit(code)
            }
            Err(e) => {
                eprintln!("ms5: cannot start: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
