//! nginx in front of MS5 for tests: a test CA and server certificate made by `openssl`, and
//! `deploy/nginx/ms5.conf` with the test's ports, certificate and cache folder, included by a
//! main configuration that runs in the foreground from a temporary prefix.

use std::path::Path;
use std::process::Command;

use super::tools::{repo, run};

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it (webpki refuses a CA
/// certificate as the server's own), into `dir`: `ca.pem`, `ca.der`, `fullchain.pem`,
/// `privkey.pem`. Returns the CA in DER for a client to trust.
pub fn certificates(openssl: &Path, dir: &Path) -> Vec<u8> {
    let sh = |args: &[&str]| {
        run(Command::new(openssl).args(args), dir);
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=MS5 test CA",
    ]);
    sh(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "privkey.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write ext");
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "fullchain.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    sh(&["x509", "-in", "ca.pem", "-outform", "der", "-out", "ca.der"]);
    std::fs::read(dir.join("ca.der")).expect("ca.der")
}

/// deploy/nginx/ms5.conf with this test's ports, certificate and cache folder; each
/// replaced line must be there, so a changed file fails here rather than testing nothing.
pub fn site_config(dir: &Path, ms5_port: u16, https: u16, http: u16) -> String {
    let mut conf = std::fs::read_to_string(repo().join("deploy/nginx/ms5.conf")).expect("deploy/nginx/ms5.conf");
    let d = dir.display();
    for (from, to) in [
        ("server 127.0.0.1:8080;", format!("server 127.0.0.1:{ms5_port};")),
        ("listen 443 ssl http2;", format!("listen 127.0.0.1:{https} ssl http2;")),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("/etc/ssl/ms5/fullchain.pem", format!("{d}/fullchain.pem")),
        ("/etc/ssl/ms5/privkey.pem", format!("{d}/privkey.pem")),
        ("/var/cache/nginx/ms5", format!("{d}/cache")),
    ] {
        assert!(conf.contains(from), "deploy/nginx/ms5.conf no longer has `{from}`");
        conf = conf.replace(from, &to);
    }
    conf
}

/// The main configuration: foreground, one worker, temp folders in `dir`, including
/// `dir/ms5.conf`.
pub fn main_config(dir: &Path) -> String {
    let d = dir.display();
    // As root, nginx's workers would switch to `nobody`, who cannot write the temp folder.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;"
    } else {
        ""
    };
    format!(
        "{user}\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
         include {d}/ms5.conf;\n}}\n"
    )
}
