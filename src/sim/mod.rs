//! The simulation: a deterministic stream of correlated events in simulated-time order.
//!
//! First-step events arrive along the load profile ([`crate::plan::load`]); each picks a user
//! and a product. When an event is emitted it decides, with its step's ratio, whether the chain
//! continues, and when: the follow-up, for the same user and product, waits in a priority queue
//! until its time comes. Events leave in order of `(time, chain, step)`, so ties are broken the
//! same way on every run.
//!
//! Every chain draws from its own random streams ([`rng`]): its first event from stream
//! `(seed, chain i, step 0)`, its follow-ups from `(seed, chain i, step k)`. What an event
//! looks like therefore depends on its identity alone, never on what else was generated first.
//! The queue only holds follow-ups not yet due, so memory stays flat however long a run lasts.
//!
//! The queue ([`queue`]) is the hot spot of a busy run. A follow-up's random stream is opened
//! when it is emitted rather than stored with it, since it depends on the chain and step alone.

mod queue;
pub mod rng;

use crate::encoding::record::{Encoded, EventFacts};
use crate::plan::Plan;
use crate::plan::distribution::EntitySampler;
use crate::plan::fields::CarrySource;
use crate::scenario::Arrivals;
use queue::Queue;
use rng::{Domain, StreamRng, standard_exponential, stream, unit};

/// An event about to be emitted: the next arrival, or a follow-up taken off the queue.
#[derive(Debug)]
struct Pending {
    /// Nanoseconds since the start of the run.
    offset: u64,
    chain: u64,
    step: u32,
    /// The stage the parent event fell in, if any (first-step events have none).
    parent_stage: Option<u32>,
    user: u64,
    product: u64,
    rng: StreamRng,
    carried: Vec<Box<[u8]>>,
}

impl Pending {
    fn order(&self) -> (u64, u64, u32) {
        (self.offset, self.chain, self.step)
    }
}

/// What a queued follow-up carries besides its place in line.
#[derive(Debug, Default)]
struct FollowUp {
    parent_stage: Option<u32>,
    user: u64,
    product: u64,
    carried: Vec<Box<[u8]>>,
}

/// What the caller learns about an emitted event; its bytes are in [`Simulation::encoded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emitted {
    pub step: usize,
    pub topic: usize,
    /// Nanoseconds of simulated time since the start of the run.
    pub offset_ns: u64,
    /// Event time in milliseconds since the Unix epoch: the record timestamp.
    pub timestamp_ms: i64,
    /// The stage the event falls in; `None` for follow-ups due after the last stage.
    pub stage: Option<usize>,
    /// For follow-ups, the stage the parent fell in (`None` also when it fell after the end).
    pub parent_stage: Option<usize>,
    pub chain: u64,
    pub user: u64,
    pub product: u64,
}

/// Counts the simulation keeps about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimCounters {
    /// Follow-ups not emitted because they were due after the last stage and draining was off.
    pub cut_by_no_drain: u64,
    /// The most follow-ups waiting at once.
    pub peak_pending: usize,
}

/// The event generator of one run.
#[derive(Debug)]
pub struct Simulation<'p> {
    plan: &'p Plan,
    seed: u64,
    start_ns: i64,
    drain: bool,
    end_offset: u64,

    users: EntitySampler,
    products: EntitySampler,
    prices: Vec<f64>,

    next_chain: u64,
    intensity: f64,
    stage_hint: usize,
    next_root: Option<Pending>,
    pending: Queue<FollowUp>,
    sequences: Vec<u64>,

    encoded: Encoded,
    counters: SimCounters,
}

impl<'p> Simulation<'p> {
    /// Prepares a run of `plan` with `seed`, simulated time starting at `start_ns` (nanoseconds
    /// since the Unix epoch). Zipf tables and product prices are built here.
    pub fn new(plan: &'p Plan, seed: u64, start_ns: i64, drain: bool) -> Self {
        let users = EntitySampler::new(plan.users.choice, plan.users.count);
        let products = EntitySampler::new(plan.products.choice, plan.products.count);
        let prices = match &plan.price {
            Some(price) => (1..=plan.products.count)
                .map(|product| {
                    let mut rng = stream(seed, Domain::Price, product, 0);
                    (price.sample(&mut rng) * 100.0).round() / 100.0
                })
                .collect(),
            None => Vec::new(),
        };
        let end_offset = (plan.load.duration() * 1e9).round() as u64;

        let mut simulation = Simulation {
            plan,
            seed,
            start_ns,
            drain,
            end_offset,
            users,
            products,
            prices,
            next_chain: 0,
            intensity: 0.0,
            stage_hint: 0,
            next_root: None,
            pending: Queue::default(),
            sequences: vec![0; plan.topics.len()],
            encoded: Encoded::default(),
            counters: SimCounters::default(),
        };
        simulation.next_root = simulation.arrive();
        simulation
    }

    /// The key and value of the event last returned by [`Simulation::next_event`].
    pub fn encoded(&self) -> &Encoded {
        &self.encoded
    }

    pub fn counters(&self) -> SimCounters {
        self.counters
    }

    /// The unit price of `product` in this run, if the scenario declares prices.
    pub fn price(&self, product: u64) -> Option<f64> {
        self.prices.get(product.checked_sub(1)? as usize).copied()
    }

    /// Emits the next event in simulated-time order, or `None` when the run is over.
    pub fn next_event(&mut self) -> Option<Emitted> {
        let first_follow_up = self.pending.peek().map(|due| due.order());
        let take_root = match (&self.next_root, first_follow_up) {
            (Some(root), Some(follow_up)) => root.order() < follow_up,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let mut event = if take_root {
            let root = self.next_root.take();
            self.next_root = self.arrive();
            root?
        } else {
            let (due, follow_up) = self.pending.pop()?;
            Pending {
                offset: due.offset,
                chain: due.chain,
                step: due.step,
                parent_stage: follow_up.parent_stage,
                user: follow_up.user,
                product: follow_up.product,
                rng: stream(self.seed, Domain::Chain, due.chain, u64::from(due.step)),
                carried: follow_up.carried,
            }
        };
        Some(self.emit(&mut event))
    }

    /// Places the next first-step arrival, or returns `None` past the end of the profile.
    fn arrive(&mut self) -> Option<Pending> {
        let chain = self.next_chain;
        let mut rng = stream(self.seed, Domain::Chain, chain, 0);
        let position = match self.plan.load.arrivals {
            Arrivals::Poisson => {
                self.intensity += standard_exponential(&mut rng);
                self.intensity
            }
            Arrivals::Uniform => chain as f64,
        };
        let (seconds, stage) = self.plan.load.time_of(position, self.stage_hint)?;
        self.stage_hint = stage;
        self.next_chain += 1;

        let user = self.users.sample(&mut rng);
        let product = self.products.sample(&mut rng);
        let offset = (seconds * 1e9).round() as u64;
        Some(Pending {
            offset,
            chain,
            step: 0,
            parent_stage: None,
            user,
            product,
            rng,
            carried: Vec::new(),
        })
    }

    /// Encodes `event`, schedules its follow-up if the chain continues, and describes it.
    fn emit(&mut self, event: &mut Pending) -> Emitted {
        let step = event.step as usize;
        let plan = self.plan;
        let spec = &plan.funnel[step];
        let time_ns = self.start_ns + event.offset as i64;
        let stage =
            (event.offset < self.end_offset).then(|| plan.load.stage_at(event.offset as f64 / 1e9));

        // The record itself.
        self.sequences[spec.topic] += 1;
        let facts = EventFacts {
            user: event.user,
            product: event.product,
            price: self.price(event.product).unwrap_or(0.0),
            time_ns,
            sequence: self.sequences[spec.topic],
            carried: &event.carried,
        };
        spec.encoder
            .encode(&facts, &mut event.rng, &mut self.encoded);

        // Whether the chain goes on, and when.
        if let Some(next) = plan.funnel.get(step + 1) {
            let ratio = match stage {
                Some(stage) => plan.ratio(step + 1, stage),
                None => next.ratio,
            };
            if unit(&mut event.rng) < ratio {
                let delay = next
                    .delay
                    .as_ref()
                    .map_or(0.0, |d| d.sample(&mut event.rng));
                let offset = event.offset + (delay * 1e9).round() as u64;
                if self.drain || offset < self.end_offset {
                    let carried = self.hand_down(step, &mut event.carried);
                    let follow_up = FollowUp {
                        parent_stage: stage.map(|s| s as u32),
                        user: event.user,
                        product: event.product,
                        carried,
                    };
                    self.pending
                        .push(offset, event.chain, event.step + 1, follow_up);
                    self.counters.peak_pending = self.counters.peak_pending.max(self.pending.len());
                } else {
                    self.counters.cut_by_no_drain += 1;
                }
            }
        }

        Emitted {
            step,
            topic: spec.topic,
            offset_ns: event.offset,
            timestamp_ms: time_ns.div_euclid(1_000_000),
            stage,
            parent_stage: event.parent_stage.map(|s| s as usize),
            chain: event.chain,
            user: event.user,
            product: event.product,
        }
    }

    /// The values a step's child receives: some inherited, some from the step's own fields.
    fn hand_down(&self, step: usize, inherited: &mut [Box<[u8]>]) -> Vec<Box<[u8]>> {
        self.plan.funnel[step]
            .carry
            .iter()
            .map(|source| match *source {
                CarrySource::Inherited(slot) => std::mem::take(&mut inherited[slot]),
                CarrySource::Own(field) => self.encoded.field(field).into(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
