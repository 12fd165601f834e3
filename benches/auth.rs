//! What authentication costs: checking an access token on every request, deciding a
//! route's access, and the argon2id work of one sign-in.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ms5::auth::jwt::{Claims, JwtKeys};
use ms5::auth::password;
use ms5::domain::access::{Access, Principal, Role, decide};

fn auth(c: &mut Criterion) {
    let keys = JwtKeys::new(b"bench-secret-bench-secret-bench-secret!!", "ms5", "ms5", 30);
    let now_s = 1_800_000_000;
    let token = keys
        .sign(&Claims {
            sub: "ada".into(),
            uid: 1,
            role: Role::Operator,
            lines: Some(vec!["line-1".into()]),
            iss: "ms5".into(),
            aud: "ms5".into(),
            exp: now_s + 1800,
            nbf: now_s,
            iat: now_s,
            jti: "0123456789abcdef01234567".into(),
            ver: 0,
        })
        .unwrap_or_default();
    let mut g = c.benchmark_group("auth");
    g.throughput(Throughput::Elements(1));
    g.bench_function("access_token_verify", |b| {
        b.iter(|| keys.verify(black_box(&token), black_box(now_s * 1000)).is_ok())
    });
    let caller = Principal::User {
        username: "ada".into(),
        role: Role::Operator,
        lines: Some(vec!["line-1".into()]),
    };
    g.bench_function("route_decision", |b| {
        b.iter(|| decide(black_box(Access::Operate), black_box(Some(&caller))).is_ok())
    });
    let hash = password::hash("correct horse battery staple").unwrap_or_default();
    g.sample_size(10);
    g.bench_function("password_verify_argon2id", |b| {
        b.iter(|| password::verify(black_box("correct horse battery staple"), black_box(&hash)))
    });
    g.finish();
}

criterion_group!(benches, auth);
criterion_main!(benches);
