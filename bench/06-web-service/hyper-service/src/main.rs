//! The study's web service, as the peer of chapter 06's benchmark: its first worked example (an Axum handler with
//! a cache and a PostgreSQL pool) written with hyper 0.14, tokio and tokio-postgres, with the routes, statements
//! and bodies of the chapter's `ws-service`, so that both servers do the same work for the same requests.
//!
//!   hyper-service --db CONNINFO [--port N] [--workers N] [--pool N]
//!
//! The first line on stdout is "listening on 127.0.0.1:PORT" (`--port 0`, the default, takes any free port).
//!
//! The design is the study's on purpose, flaws included, because those are what the chapter's service is measured
//! against:
//! - the cache is `Arc<RwLock<HashMap<i64, Arc<[u8]>>>>`, unbounded, checked under the read lock and filled under
//!   the write lock once the row is back. Between the two, concurrent misses of one key all go to the database
//!   (the stampede).
//! - the pool is a few tokio-postgres clients behind one `tokio::sync::Mutex`, and a request keeps the guard until
//!   its handler is done, across the query's `.await`: queries run one at a time, whatever the pool's size.
//! - a write runs its statement, then removes the key from the cache; a GET that read the old row before the write
//!   may insert it after the removal (the stale set).
//!
//! Statements are prepared once per client at start-up, as the chapter's service does, so that the comparison is
//! about the cache and the pool, not about parsing SQL on every request. `/metrics` prints the counters the
//! benchmark reads, under the names the chapter's service uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::AddrIncoming;
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Method, Request, Response, Server, StatusCode};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls, Statement};

// The chapter's statements (solutions/06-web-service/db.c), word for word.
const GET_SQL: &str = "SELECT id, body, version FROM items WHERE id = $1";
const PUT_SQL: &str = "INSERT INTO items (id, body, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE \
                       SET body = EXCLUDED.body, version = items.version + 1 RETURNING id, body, version";
const DELETE_SQL: &str = "DELETE FROM items WHERE id = $1 RETURNING id, body, version";
/// The largest PUT body, as the chapter's service sets it.
const MAX_BODY: u64 = 64 * 1024;

/// One database connection of the pool and its prepared statements.
struct Conn {
    client: Client,
    get: Statement,
    put: Statement,
    delete: Statement,
}

/// The pool: its clients, handed out in turn. Always used through `AppState::pool`'s mutex.
struct Pool {
    conns: Vec<Conn>,
    next: usize,
}

impl Pool {
    fn pick(&mut self) -> &Conn {
        let i = self.next;
        self.next = (i + 1) % self.conns.len();
        &self.conns[i]
    }
}

/// What `/metrics` reports; independent relaxed counters, as in the chapter's service.
#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    queries_get: AtomicU64,
    queries_put: AtomicU64,
    queries_delete: AtomicU64,
    db_errors: AtomicU64,
}

/// The state every request shares: the study's `AppState`.
struct AppState {
    cache: Arc<RwLock<HashMap<i64, Arc<[u8]>>>>,
    pool: Mutex<Pool>,
    stats: Stats,
}

fn respond(status: StatusCode, content_type: Option<&'static str>, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Some(t) = content_type {
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(t));
    }
    r
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let content_type = if body.is_empty() { None } else { Some("text/plain") };
    respond(status, content_type, body.as_bytes().to_vec())
}

fn db_error(st: &AppState, e: tokio_postgres::Error) -> Response<Body> {
    st.stats.db_errors.fetch_add(1, Relaxed);
    eprintln!("hyper-service: query failed: {e}");
    text(StatusCode::INTERNAL_SERVER_ERROR, "")
}

/// GET /items/:id, the study's handler: check, query, insert.
async fn get_item(st: &AppState, id: i64) -> Response<Body> {
    if let Some(body) = st.cache.read().unwrap().get(&id) {
        // (1) the check, under the read lock; the lock is released at the end of this statement
        st.stats.hits.fetch_add(1, Relaxed);
        return respond(StatusCode::OK, Some("application/octet-stream"), body.to_vec());
    }
    st.stats.misses.fetch_add(1, Relaxed);
    st.stats.queries_get.fetch_add(1, Relaxed);
    let mut pool = st.pool.lock().await; // held until this function returns, across the query
    let conn = pool.pick();
    match conn.client.query_opt(&conn.get, &[&id]).await {
        Ok(Some(row)) => {
            let body: Arc<[u8]> = row.get::<_, Vec<u8>>(1).into();
            st.cache.write().unwrap().insert(id, body.clone()); // (2) the insert, whatever happened since (1)
            respond(StatusCode::OK, Some("application/octet-stream"), body.to_vec())
        }
        Ok(None) => text(StatusCode::NOT_FOUND, ""),
        Err(e) => db_error(st, e),
    }
}

/// PUT /items/:id: store the body, then forget the key. Answers the row's new version.
async fn put_item(st: &AppState, id: i64, req: Request<Body>) -> Response<Body> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.map_or(false, |n| n > MAX_BODY) {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "");
    }
    let body = match hyper::body::to_bytes(req.into_body()).await {
        Ok(b) if b.len() as u64 <= MAX_BODY => b,
        Ok(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, ""),
        Err(_) => return text(StatusCode::BAD_REQUEST, ""),
    };
    let bytes: &[u8] = &body;
    st.stats.queries_put.fetch_add(1, Relaxed);
    let mut pool = st.pool.lock().await;
    let conn = pool.pick();
    let row = conn.client.query_one(&conn.put, &[&id, &bytes]).await;
    st.cache.write().unwrap().remove(&id); // (3) invalidate, after the write
    match row {
        Ok(row) => text(StatusCode::OK, &format!("{}\n", row.get::<_, i64>(2))),
        Err(e) => db_error(st, e),
    }
}

/// DELETE /items/:id: 204, or 404 when there was no such item.
async fn delete_item(st: &AppState, id: i64) -> Response<Body> {
    st.stats.queries_delete.fetch_add(1, Relaxed);
    let mut pool = st.pool.lock().await;
    let conn = pool.pick();
    let row = conn.client.query_opt(&conn.delete, &[&id]).await;
    st.cache.write().unwrap().remove(&id);
    match row {
        Ok(Some(_)) => text(StatusCode::NO_CONTENT, ""),
        Ok(None) => text(StatusCode::NOT_FOUND, ""),
        Err(e) => db_error(st, e),
    }
}

fn metrics(st: &AppState) -> Response<Body> {
    let s = &st.stats;
    let body = format!(
        "ws_cache_hits_total {}\nws_cache_misses_total {}\nws_cache_entries {}\n\
         ws_db_queries_total{{kind=\"get\"}} {}\nws_db_queries_total{{kind=\"put\"}} {}\n\
         ws_db_queries_total{{kind=\"delete\"}} {}\nws_db_errors_total {}\n",
        s.hits.load(Relaxed),
        s.misses.load(Relaxed),
        st.cache.read().unwrap().len(),
        s.queries_get.load(Relaxed),
        s.queries_put.load(Relaxed),
        s.queries_delete.load(Relaxed),
        s.db_errors.load(Relaxed)
    );
    respond(StatusCode::OK, Some("text/plain; version=0.0.4"), body.into_bytes())
}

/// The item id of a path: decimal digits only, no sign, no overflow (as the chapter's `parse_id`).
fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "");
    r.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// The router: the chapter's routes, its 404, 405 (with Allow) and 400 for an id that is not a number.
async fn route(st: Arc<AppState>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let is_get = method == Method::GET || method == Method::HEAD;
    if let Some(rest) = path.strip_prefix("/items/") {
        if rest.is_empty() || rest.contains('/') {
            return text(StatusCode::NOT_FOUND, "");
        }
        if !is_get && method != Method::PUT && method != Method::DELETE {
            return not_allowed("GET, HEAD, PUT, DELETE");
        }
        let Some(id) = parse_id(rest) else {
            return text(StatusCode::BAD_REQUEST, "the item id must be a decimal number\n");
        };
        return match method {
            Method::PUT => put_item(&st, id, req).await,
            Method::DELETE => delete_item(&st, id).await,
            _ => get_item(&st, id).await,
        };
    }
    match path.as_str() {
        "/healthz" | "/metrics" if !is_get => not_allowed("GET, HEAD"),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/metrics" => metrics(&st),
        _ => text(StatusCode::NOT_FOUND, ""),
    }
}

struct Options {
    db: String,
    port: u16,
    workers: usize,
    pool: usize,
}

fn usage() -> ! {
    eprintln!("usage: hyper-service --db CONNINFO [--port N] [--workers N] [--pool N]");
    std::process::exit(2);
}

fn parse_options() -> Options {
    let mut o = Options {
        db: String::new(),
        port: 0,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()), // tokio's default: the CPUs allowed
        pool: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--db" => o.db = value.clone(),
            "--port" => o.port = value.parse().unwrap_or_else(|_| usage()),
            "--workers" => o.workers = number(),
            "--pool" => o.pool = number(),
            _ => usage(),
        }
    }
    if o.db.is_empty() {
        usage();
    }
    o
}

async fn connect(conninfo: &str) -> Result<Conn, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls).await?;
    // The connection future drives the socket; the client only queues requests for it.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("hyper-service: database connection lost: {e}");
        }
    });
    let get = client.prepare(GET_SQL).await?;
    let put = client.prepare(PUT_SQL).await?;
    let delete = client.prepare(DELETE_SQL).await?;
    Ok(Conn {
        client,
        get,
        put,
        delete,
    })
}

async fn serve(o: Options) -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut conns = Vec::with_capacity(o.pool);
    for _ in 0..o.pool {
        conns.push(connect(&o.db).await?);
    }
    let state = Arc::new(AppState {
        cache: Arc::new(RwLock::new(HashMap::new())),
        pool: Mutex::new(Pool { conns, next: 0 }),
        stats: Stats::default(),
    });
    // tokio's listener (a backlog of 1024, as axum's examples get), then hyper's accept loop around it.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], o.port))).await?;
    let mut incoming = AddrIncoming::from_listener(listener)?;
    incoming.set_nodelay(true);
    println!("listening on {}", incoming.local_addr());
    std::io::stdout().flush()?;
    let make = make_service_fn(move |_| {
        let st = state.clone();
        async move {
            Ok::<_, Infallible>(service_fn(move |req| {
                let st = st.clone();
                async move { Ok::<_, Infallible>(route(st, req).await) }
            }))
        }
    });
    Server::builder(incoming).http1_only(true).serve(make).await?;
    Ok(())
}

fn main() {
    let o = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.workers)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("hyper-service: cannot start the runtime: {e}");
            std::process::exit(1);
        });
    if let Err(e) = runtime.block_on(serve(o)) {
        eprintln!("hyper-service: {e}");
        std::process::exit(1);
    }
}
