//! The `ms5` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ms5::auth::accounts;
use ms5::clock::Clock;
use ms5::config::Config;
use ms5::domain::access::Role;
use ms5::startup::{Application, StartupError};
use ms5::store::{AuditEntry, Store};

// Many sockets allocate and free frame buffers on several threads; mimalloc gives that
// memory back instead of keeping each thread's peak. It is built without transparent huge
// pages (`no_thp`): with them the kernel backs each partly used 2 MiB region whole, which
// cost about 22 MiB of resident memory in an idle 200-machine plant. (The `system-alloc`
// feature keeps the system allocator, for heap profilers.)
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Copy the database to a new file, consistent while MS5 serves (SQLite's VACUUM INTO).
    Backup {
        /// The backup file to write (must not exist).
        file: PathBuf,
    },
    /// Put a backup where the configured database goes (refused while a database is there).
    Restore {
        /// The backup file to read.
        file: PathBuf,
    },
    /// Serve the simulated plant as a stand-in PLC: OPC UA (`[opcua.server]`) and/or Modbus TCP
    /// (`[modbus.server]`).
    Simulate,
    /// Manage accounts (the password is asked for, or read from stdin; never an argument).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Add {
        /// Login name.
        #[arg(long)]
        username: String,
        /// operator, supervisor, engineer or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Lines the user is limited to, comma-separated (default: all lines).
        #[arg(long, value_delimiter = ',')]
        lines: Option<Vec<String>>,
    },
    /// Set an account's password (its sign-ins end).
    Passwd {
        /// Login name.
        #[arg(long)]
        username: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "use operator, supervisor, engineer or admin".to_owned())
}

/// Reads a new password: twice at a terminal prompt, or one line from stdin when piped.
fn read_password() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn user_command(config: Config, command: UserCommand) -> Result<String, String> {
    // Say which database this is before touching it: a command run from another folder
    // reaches another configuration, and a new database file is created silently.
    let is_new = ms5::store::database_file(&config.settings.store.url).is_some_and(|f| !f.exists());
    println!("ms5: {}", config.describe());
    if is_new {
        println!(
            "ms5: note: that database did not exist and is created now; if a server is running \
             elsewhere, run this with the --config it uses (its start-up log names its database)"
        );
    }
    let store = Store::connect(&config.settings.store.url)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    match command {
        UserCommand::Add { username, role, lines } => {
            let password = read_password()?;
            let user = accounts::add_user(&store, &config.plant, &username, role, lines, &password, now)
                .await
                .map_err(|e| e.to_string())?;
            let details = serde_json::json!({ "role": user.role, "lines": user.lines });
            audit(&store, &user.username, "user.create", details, now).await;
            Ok(format!("created {} ({})", user.username, user.role))
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            let user = accounts::set_password(&store, &username, &password, now)
                .await
                .map_err(|e| e.to_string())?;
            // The same shape as `PATCH /api/v1/users/{id}` records.
            let details =
                serde_json::json!({ "role": null, "lines": null, "disabled": null, "password_changed": true });
            audit(&store, &user.username, "user.update", details, now).await;
            Ok(format!("password of {} changed; their sign-ins ended", user.username))
        }
    }
}

async fn audit(store: &Store, target: &str, action: &'static str, details: serde_json::Value, now: i64) {
    let actor = std::env::var("USER").map_or_else(|_| "cli".to_owned(), |u| format!("cli:{u}"));
    let entry = AuditEntry {
        at: now,
        actor,
        action,
        target: Some(target.to_owned()),
        outcome: "ok",
        source: Some("ms5 user".to_owned()),
        details,
    };
    if let Err(e) = store.append_audit(&entry).await {
        eprintln!("ms5: warning: cannot write the audit log: {e}");
    }
}

/// `ms5 backup`: the configured database, which must exist, copied to `file`.
async fn backup(config: &Config, file: &std::path::Path) -> Result<String, ms5::store::backup::BackupError> {
    let url = &config.settings.store.url;
    let database = ms5::store::backup::source_of(url)?;
    let store = Store::connect(url).await?;
    let done = store.backup_to(file).await?;
    Ok(format!(
        "backed up {} to {} ({} bytes, schema {})",
        database,
        done.file.display(),
        done.bytes,
        done.schema
    ))
}

/// Prints a command's result: exit 0 with its message, or 1 with the error.
fn finish<E: std::fmt::Display>(result: Result<String, E>) -> ExitCode {
    match result {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ms5: {e}");
            ExitCode::FAILURE
        }
    }
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
        Command::User(command) => match user_command(config, command).await {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ms5: {e}");
                ExitCode::FAILURE
            }
        },
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
            match ms5::plc::simulate::run(
                &config.plant,
                &s.opcua.server,
                &s.modbus.server,
                &s.simulator,
                Clock::System,
            )
            .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ms5: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Backup { file } => finish(backup(&config, &file).await),
        Command::Restore { file } => finish(
            ms5::store::backup::restore(&file, &config.settings.store.url)
                .await
                .map(|done| {
                    format!(
                        "ms5: {}\nrestored {} into {} (schema {}); start MS5 on it",
                        config.describe(),
                        file.display(),
                        done.file.display(),
                        done.schema
                    )
                }),
        ),
        Command::Migrate => match Store::connect(&config.settings.store.url).await {
            Ok(store) => match store.migrate().await {
                Ok(()) => {
                    println!("ms5: {}", config.describe());
                    println!("migrations applied");
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
                if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    match app.local_board_link().await {
                        Ok(Some(link)) => println!(
                            "\nNo accounts yet. This machine's board, read-only:\n  {link}\n\
                             To sign in and act: {}\n",
                            app.first_admin_command()
                        ),
                        Ok(None) => {}
                        Err(e) => eprintln!("ms5: cannot make a board link: {e}"),
                    }
                }
                ms5::systemd::ready(app.plant().clone());
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
                // A busy port is a setting to change, like a configuration error.
                match e {
                    StartupError::Bind { .. } => ExitCode::from(2),
                    _ => ExitCode::FAILURE,
                }
            }
        },
    }
}
