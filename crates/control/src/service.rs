//! The service layer: one dispatcher for every ARM resource type.
//!
//! A request arrives authenticated and with its body parsed ([`Request`]). The dispatcher
//! decodes the path ([`crate::arm::path`]), finds the route among those the resource modules
//! declare ([`crate::resources::routes`]), answers 404 for an unknown type and 405 for a
//! method the route does not serve, checks the api-version and the subscription id, and
//! calls the route's handler with a [`Call`]. Handlers validate the body first, then apply
//! their rules and write in one transaction ([`Service::write`]), then render outside it.
//!
//! Concurrency: reads use their own SQLite connections (WAL readers never wait for the
//! writer); writes queue for the writer connection only for the length of their
//! transaction, so rendering, validation and serialisation of different requests overlap.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::arm::etag::Preconditions;
use crate::arm::lro::{Lro, Operation};
use crate::arm::paging::{Page, PageRequest};
use crate::arm::path::{Template, Verb, segments};
use crate::arm::{ArmError, Body, Outcome, Params, R, Status, id, region, version};
use crate::auth::Principal;
use crate::catalog::Catalog;
use crate::store::{Read, Store, StoreError, Tx};

/// How many items a list answers per page before giving a `nextLink`.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// How many reader connections a file-backed store gets.
const READERS: usize = 4;

/// One ARM request, authenticated, with its body parsed.
#[derive(Debug, Clone)]
pub struct Request {
    pub principal: Principal,
    pub verb: Verb,
    /// The path as sent (still percent-encoded).
    pub path: String,
    pub api_version: Option<String>,
    pub skip_token: Option<String>,
    /// `$filter` and `$top` of a list (read by the lists that take them).
    pub filter: Option<String>,
    pub top: Option<String>,
    pub body: Option<Value>,
    pub preconditions: Preconditions,
}

/// What a handler gets: the request resolved against its route.
#[derive(Debug, Clone)]
pub struct Call {
    pub principal: Principal,
    pub verb: Verb,
    pub params: Params,
    pub api_version: String,
    pub body: Option<Value>,
    pub pre: Preconditions,
    pub page: PageRequest,
    /// The path's decoded segments (a list's nextLink is built from them, escaped again).
    pub segments: Vec<String>,
    /// `$filter` and `$top`, for the lists that take them (a nextLink carries them on).
    pub filter: Option<String>,
    pub top: Option<String>,
}

impl Call {
    /// This list's URL on the public URL, with its api-version (nextLink continues it);
    /// made only when a list answers, from validated and escaped parts.
    pub fn list_url(&self, public_url: &str) -> String {
        use std::fmt::Write;
        let mut url = String::with_capacity(public_url.len() + 160);
        url.push_str(public_url);
        for s in &self.segments {
            url.push('/');
            url.push_str(&crate::arm::path::encode(s));
        }
        let _ = write!(
            url,
            "?api-version={}",
            crate::arm::path::encode(&self.api_version)
        );
        for (key, value) in [("$filter", &self.filter), ("$top", &self.top)] {
            if let Some(v) = value {
                let _ = write!(url, "&{key}={}", crate::arm::path::encode(v));
            }
        }
        url
    }

    /// The body, which must be a JSON object.
    pub fn body(&self) -> R<&Value> {
        match &self.body {
            Some(v @ Value::Object(_)) => Ok(v),
            Some(_) => Err(ArmError::bad_request(
                "InvalidRequestFormat",
                "The request body must be a JSON object.",
            )),
            None => Err(ArmError::bad_request(
                "InvalidRequestFormat",
                "A JSON request body is required.",
            )),
        }
    }

    /// 403 unless the principal owns customer resources in `sub`; reveals nothing.
    pub fn writable(&self, sub: &str) -> R<()> {
        if self.principal.owns_subscription(sub) {
            Ok(())
        } else {
            Err(forbidden(&self.principal, sub))
        }
    }

    /// Whether the principal may read customer resources in `sub`.
    pub fn owns(&self, sub: &str) -> bool {
        self.principal.owns_subscription(sub)
    }
}

/// A handler: resolves a [`Call`] into an [`Outcome`].
pub type Handler = fn(&Service, &Call) -> R<Outcome>;

/// One operation of a route, with what the OpenAPI document says of it.
#[derive(Debug, Clone)]
pub struct Op {
    pub verb: Verb,
    pub summary: &'static str,
    /// The request body's schema (a component name), if it takes one.
    pub body: Option<&'static str>,
    /// Success statuses and the schema of each one's body (`None`: no body).
    pub responses: &'static [(u16, Option<&'static str>)],
    pub handler: Handler,
}

/// A route: a path template and the operations served on it.
#[derive(Debug, Clone)]
pub struct Route {
    pub template: Template,
    pub ops: Vec<Op>,
}

impl Route {
    pub fn new(template: &'static str) -> Route {
        Route {
            template: Template::new(template),
            ops: Vec::new(),
        }
    }

    /// Adds an operation.
    pub fn op(
        mut self,
        verb: Verb,
        summary: &'static str,
        body: Option<&'static str>,
        responses: &'static [(u16, Option<&'static str>)],
        handler: Handler,
    ) -> Route {
        self.ops.push(Op {
            verb,
            summary,
            body,
            responses,
            handler,
        });
        self
    }
}

pub(crate) fn forbidden(principal: &Principal, sub: &str) -> ArmError {
    ArmError::new(
        Status::Forbidden,
        "AuthorizationFailed",
        format!(
            "The client '{}' does not have authorization to write in scope '/subscriptions/{sub}'.",
            principal.kind()
        ),
    )
}

/// The store's connections: a SQLite file's writer and the readers beside it, or a pool
/// of connections to the PostgreSQL database every replica shares.
// One per service: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Db {
    Local {
        writer: Mutex<Store>,
        readers: Vec<Mutex<Store>>,
    },
    Shared(crate::store::postgres::Pool),
}

#[derive(Debug)]
pub struct Service {
    db: Db,
    pub catalog: Catalog,
    pub page_size: usize,
    /// The base of every URL handed out (`Azure-AsyncOperation`, `Location`, `nextLink`).
    pub public_url: String,
    /// The edges: inventory, generation clock, desired-state cache, live reports.
    pub edges: crate::edges::EdgeHub,
    /// The tenant and the key access tokens are signed with.
    pub directory: crate::identity::Directory,
    /// Where public IP addresses are drawn from (`causeway serve --public-ip-pool`).
    pub public_ip_pool: ipnet::Ipv4Net,
    routes: Vec<Route>,
}

impl Service {
    /// A service with the built-in edge inventory (the lab location's pair).
    pub fn new(store: Store, catalog: Catalog) -> Service {
        Service::with_inventory(store, catalog, crate::inventory::Inventory::default())
    }

    pub fn with_inventory(
        store: Store,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
    ) -> Service {
        Service::build(store, Vec::new(), catalog, inventory)
    }

    /// A service over the store file at `path`, with reader connections beside the writer.
    pub fn open(
        store: Store,
        path: &Path,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
    ) -> Result<Service, StoreError> {
        let readers = (0..READERS)
            .map(|_| Store::open_reader(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Service::build(store, readers, catalog, inventory))
    }

    /// A service over the PostgreSQL database at the other end of `pool`, one replica of
    /// any number: its edges' long polls wake on every replica's commits.
    pub fn open_postgres(
        pool: crate::store::postgres::Pool,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
    ) -> Service {
        let identity = Service::identity(&mut pool.store());
        let service = Service::assemble(Db::Shared(pool), catalog, inventory, identity);
        if let Db::Shared(pool) = &service.db {
            let hub = service.edges.generation_sender();
            pool.listen(move |g| crate::edges::publish_to(&hub, g));
        }
        service
    }

    fn build(
        mut store: Store,
        readers: Vec<Store>,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
    ) -> Service {
        let identity = Service::identity(&mut store);
        let db = Db::Local {
            writer: Mutex::new(store),
            readers: readers.into_iter().map(Mutex::new).collect(),
        };
        Service::assemble(db, catalog, inventory, identity)
    }

    /// Rewrites a legacy layout, then reads the generation, the store's identity and the
    /// directory (tenant and signing key).
    fn identity(store: &mut Store) -> (u64, String, crate::identity::Directory) {
        if let Err(e) = crate::resources::migrate_legacy(store) {
            tracing::error!("cannot rewrite the legacy store tables: {e}");
        }
        let generation = store.generation().unwrap_or(0);
        let instance = store.instance().unwrap_or_else(|_| "00000000".into());
        let directory = crate::identity::Directory::open(store)
            .expect("invariant: the store holds the directory's tenant and key");
        (generation, instance, directory)
    }

    fn assemble(
        db: Db,
        catalog: Catalog,
        inventory: crate::inventory::Inventory,
        (generation, instance, directory): (u64, String, crate::identity::Directory),
    ) -> Service {
        Service {
            db,
            catalog,
            page_size: DEFAULT_PAGE_SIZE,
            // `causeway serve` sets the listen address or --public-url; embedded services
            // (tests) answer with the loopback origin.
            public_url: "https://127.0.0.1".into(),
            edges: crate::edges::EdgeHub::new(inventory, generation, instance),
            directory,
            public_ip_pool: crate::resources::public_ips::DEFAULT_POOL
                .parse()
                .expect("invariant: the default pool is a prefix"),
            routes: crate::resources::routes(),
        }
    }

    fn writer(writer: &Mutex<Store>) -> MutexGuard<'_, Store> {
        writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this replica holds the lease on the work done once ([`crate::jobs`]): always
    /// on a SQLite file (one process), else while it holds the database's lease.
    pub fn lease(&self) -> bool {
        match &self.db {
            Db::Local { .. } => true,
            Db::Shared(pool) => pool.lease(),
        }
    }

    /// Whether the store is a shared database (reads wait on the network, not memory).
    pub fn is_shared(&self) -> bool {
        matches!(self.db, Db::Shared(_))
    }

    /// Runs `f` with the writer's store (token commands, tests); a pooled connection of a
    /// shared store.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        match &self.db {
            Db::Local { writer, .. } => f(&mut Service::writer(writer)),
            Db::Shared(pool) => f(&mut pool.store()),
        }
    }

    /// Runs `f` on a reader connection (the writer's for an in-memory store).
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let (writer, readers) = match &self.db {
            Db::Local { writer, readers } => (writer, readers),
            Db::Shared(pool) => return f(&pool.store()),
        };
        for r in readers {
            if let Ok(g) = r.try_lock() {
                return f(&g);
            }
        }
        match readers.first() {
            Some(r) => f(&r.lock().unwrap_or_else(|e| e.into_inner())),
            None => f(&Service::writer(writer)),
        }
    }

    /// Runs `f` in one write transaction; then wakes the edges if it changed anything.
    /// On a shared store the transaction queues in the database, behind every replica's.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> R<T>) -> R<T> {
        let (out, generation) = self.with_store(|st| -> R<(T, u64)> {
            let out = st.write(f)?;
            Ok((out, st.generation().unwrap_or(0)))
        })?;
        self.edges.publish(generation);
        Ok(out)
    }

    /// The principal a bearer credential stands for: a token of the store, or an access
    /// token this directory signed for an application that is still there.
    pub fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        if crate::identity::is_access_token(secret) {
            let now = crate::identity::now_seconds();
            let Some(app) = self.directory.verify(&self.public_url, secret, now) else {
                return Ok(None);
            };
            return self.read(|st| crate::auth::principal_of_app(st, &app));
        }
        self.read(|st| crate::auth::authenticate(st, secret))
    }

    /// Every route, in match order (the OpenAPI document is made from them).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Dispatches one ARM request.
    pub fn handle(&self, req: Request) -> R<Outcome> {
        let segs = segments(&req.path)?;
        let (route, params) = self
            .routes
            .iter()
            .find_map(|r| r.template.matches(&segs).map(|p| (r, p)))
            .ok_or_else(|| {
                let shown: String = req.path.chars().take(200).collect();
                ArmError::new(
                    Status::NotFound,
                    "InvalidResourceType",
                    format!("No Microsoft.Network ExpressRoute resource is served at '{shown}'."),
                )
            })?;
        // HEAD is GET without the body, unless the route answers HEAD itself (resource
        // groups: 204 or 404).
        let op = route
            .ops
            .iter()
            .find(|o| o.verb == req.verb)
            .or_else(|| {
                (req.verb == Verb::Head)
                    .then(|| route.ops.iter().find(|o| o.verb == Verb::Get))
                    .flatten()
            })
            .ok_or_else(|| ArmError::method_not_allowed(req.verb))?;
        let verb = op.verb;
        let api_version = version::check(req.api_version.as_deref())?;
        if params.has("subscriptionId") {
            id::check_subscription(params.sub())?;
        }
        let call = Call {
            principal: req.principal,
            verb,
            params,
            api_version,
            body: req.body,
            pre: req.preconditions,
            page: PageRequest {
                after: crate::arm::paging::parse_token(req.skip_token.as_deref()),
                size: self.page_size,
            },
            segments: segs,
            filter: req.filter,
            top: req.top,
        };
        (op.handler)(self, &call)
    }

    /// The answer to GET of `path` for this caller (an operation's result).
    pub(crate) fn get_path(&self, call: &Call, path: &str) -> R<Outcome> {
        self.dispatch_as(call, Verb::Get, path, None)
    }

    /// Runs `verb` on `path` for this caller, with no body and no preconditions (an
    /// operation's result; a resource group deleting what it holds). 204 when no route
    /// serves it.
    pub(crate) fn dispatch_as(
        &self,
        call: &Call,
        verb: Verb,
        path: &str,
        body: Option<Value>,
    ) -> R<Outcome> {
        let segs = segments(path)?;
        let found = self.routes.iter().find_map(|r| {
            let params = r.template.matches(&segs)?;
            let op = r.ops.iter().find(|o| o.verb == verb)?;
            Some((op.handler, params))
        });
        let Some((handler, params)) = found else {
            return Ok(Outcome::NoContent);
        };
        let inner = Call {
            verb,
            params,
            body,
            pre: Preconditions::default(),
            ..call.clone()
        };
        handler(self, &inner)
    }

    // ----- helpers for handlers -----

    /// The poll URLs of a finished operation in `location`'s region.
    pub fn lro(&self, call: &Call, op: &Operation, location: &str) -> Lro {
        let region = region::find(location).map_or("global", |r| r.name);
        Lro::new(&self.public_url, op, region, &call.api_version)
    }

    /// A list answer: one page with its nextLink.
    pub fn page(&self, call: &Call, page: Page) -> Outcome {
        Outcome::Ok(page.body(&call.list_url(&self.public_url)))
    }

    /// A page of a short in-memory list.
    pub fn page_of(&self, call: &Call, items: Vec<Body>) -> Outcome {
        self.page(call, Page::of(items, call.page))
    }

    /// A page of store rows (position, rendered item), fetched with one more than the page
    /// holds: the extra row only says that more remain.
    pub fn page_rows(&self, call: &Call, mut rows: Vec<(i64, Body)>) -> Outcome {
        let size = call.page.size;
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more {
            rows.last().map(|(p, _)| *p)
        } else {
            None
        };
        let items = rows.into_iter().map(|(_, v)| v).collect();
        self.page(call, Page { items, next })
    }
}
