//! The follow-up queue: events scheduled for later, taken out in `(offset, chain, step)` order.
//!
//! A busy run keeps hundreds of thousands of follow-ups waiting, and every one is pushed and
//! popped once, so this is the scheduler's hot spot. A single binary heap of that size spends
//! most of a pop waiting for memory: each of its twenty levels is another cache miss. Follow-ups
//! are due a few seconds ahead, though, and always after the event that scheduled them, so the
//! queue works like a calendar. Simulated time is cut into buckets of about two milliseconds;
//! the next seventeen seconds' buckets form a ring of unsorted lists, the bucket being emitted is
//! a small heap, and whatever is due further ahead waits in a second heap until its bucket comes
//! within the ring. Pushing is an append; popping is a pop from a heap of one bucket, which fits in
//! cache. The order is exactly that of one heap over everything: entries are compared by the
//! same key, only fewer of them at a time.
//!
//! The queue stores small [`Due`] keys; what else a follow-up carries waits in a slab of
//! reusable slots, so that sorting moves 24 bytes per entry.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A queued entry's place in line, and the slot holding the rest of it.
///
/// Ordered by `(offset, chain, step)`, which no two events share, so the slot never decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    /// Nanoseconds since the start of the run.
    pub offset: u64,
    pub chain: u64,
    pub step: u32,
    slot: u32,
}

impl Due {
    pub fn order(&self) -> (u64, u64, u32) {
        (self.offset, self.chain, self.step)
    }

    fn bucket(&self) -> u64 {
        self.offset >> BUCKET_SHIFT
    }
}

/// Buckets are 2^21 ns long, about two milliseconds.
const BUCKET_SHIFT: u32 = 21;
/// Buckets in the ring: 8192 of them reach 17.6 s ahead, past the delays of typical funnels.
const RING: usize = 8192;
const RING_WORDS: usize = RING / 64;

/// Entries due in order, each with a value of type `T`.
#[derive(Debug)]
pub struct Queue<T> {
    /// The bucket being emitted. Every entry in `current` is due in it or earlier; every entry
    /// in the ring in one of the next `RING - 1` buckets; every entry in `later` after those.
    now: u64,
    current: BinaryHeap<Reverse<Due>>,
    ring: Vec<Vec<Reverse<Due>>>,
    /// Bit `i` is set when `ring[i]` holds entries.
    occupied: [u64; RING_WORDS],
    in_ring: usize,
    later: BinaryHeap<Reverse<Due>>,
    len: usize,

    values: Vec<T>,
    free: Vec<u32>,
}

impl<T: Default> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            now: 0,
            current: BinaryHeap::new(),
            ring: (0..RING).map(|_| Vec::new()).collect(),
            occupied: [0; RING_WORDS],
            in_ring: 0,
            later: BinaryHeap::new(),
            len: 0,
            values: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Default> Queue<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Queues `value` under `(offset, chain, step)`.
    ///
    /// `offset` must not be earlier than that of the last entry taken out, which holds for
    /// follow-ups: they are never due before the event that scheduled them.
    pub fn push(&mut self, offset: u64, chain: u64, step: u32, value: T) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.values[slot as usize] = value;
                slot
            }
            None => {
                self.values.push(value);
                (self.values.len() - 1) as u32
            }
        };
        self.len += 1;
        self.place(Due {
            offset,
            chain,
            step,
            slot,
        });
    }

    /// The first entry, without taking it out.
    pub fn peek(&mut self) -> Option<&Due> {
        if self.current.is_empty() {
            self.advance();
        }
        self.current.peek().map(|Reverse(due)| due)
    }

    /// Takes out the first entry and its value.
    pub fn pop(&mut self) -> Option<(Due, T)> {
        if self.current.is_empty() {
            self.advance();
        }
        let Reverse(due) = self.current.pop()?;
        self.len -= 1;
        let value = std::mem::take(&mut self.values[due.slot as usize]);
        self.free.push(due.slot);
        Some((due, value))
    }

    /// Files an entry where its bucket says.
    fn place(&mut self, due: Due) {
        let bucket = due.bucket();
        if bucket <= self.now {
            self.current.push(Reverse(due));
        } else if bucket - self.now < RING as u64 {
            let index = bucket as usize % RING;
            self.ring[index].push(Reverse(due));
            self.occupied[index / 64] |= 1 << (index % 64);
            self.in_ring += 1;
        } else {
            self.later.push(Reverse(due));
        }
    }

    /// With `current` empty, moves on to the next bucket that holds entries and makes it
    /// current. Does nothing when the queue is empty.
    fn advance(&mut self) {
        let next = if self.in_ring > 0 {
            self.next_occupied()
        } else {
            match self.later.peek() {
                Some(Reverse(due)) => due.bucket(),
                None => return,
            }
        };
        self.now = next;

        // The bucket's unsorted list becomes the current heap, in place. Its slot starts over
        // with no buffer: handing buffers around would leave every slot with one as large as
        // the fullest bucket's, and memory growing with the ring instead of with the queue.
        let index = next as usize % RING;
        if self.occupied[index / 64] & (1 << (index % 64)) != 0 {
            self.occupied[index / 64] &= !(1 << (index % 64));
            let entries = std::mem::take(&mut self.ring[index]);
            self.in_ring -= entries.len();
            self.current = BinaryHeap::from(entries);
        }

        // Entries due further ahead that the ring now reaches move into it.
        while let Some(Reverse(due)) = self.later.peek() {
            if due.bucket() - self.now >= RING as u64 {
                break;
            }
            let Some(Reverse(due)) = self.later.pop() else {
                break;
            };
            self.place(due);
        }
    }

    /// The first bucket after `now` whose ring list holds entries; the ring must hold some.
    fn next_occupied(&self) -> u64 {
        let start = (self.now as usize + 1) % RING;
        for step in 0..=RING_WORDS {
            let word_index = (start / 64 + step) % RING_WORDS;
            let mut word = self.occupied[word_index];
            if step == 0 {
                // Only the slots from `start` on count in the first word...
                word &= u64::MAX << (start % 64);
            } else if step == RING_WORDS {
                // ...and, having wrapped around, only those before it.
                word &= !(u64::MAX << (start % 64));
            }
            if word != 0 {
                let index = word_index * 64 + word.trailing_zeros() as usize;
                let ahead = (index + RING - start) % RING;
                return self.now + 1 + ahead as u64;
            }
        }
        unreachable!("the ring holds entries, so one of its slots is occupied")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Domain, below, stream};

    /// Pushes and pops at random, with the same entries going into a plain binary heap, and
    /// checks that both give the same order.
    fn compare_with_one_heap(seed: u64, max_delay_ns: u64, operations: usize) {
        let mut rng = stream(seed, Domain::Record, 0, 0);
        let mut queue: Queue<u64> = Queue::default();
        let mut reference: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
        let mut clock = 0u64;
        let mut chain = 0u64;
        for _ in 0..operations {
            if below(&mut rng, 3) < 2 {
                // Schedule a few entries at or after the time of the last one taken out,
                // some on the same nanosecond, some far beyond the ring.
                let delay = match below(&mut rng, 10) {
                    0 => 0,
                    1 => below(&mut rng, 4) * 1_000_000,
                    2 => max_delay_ns + below(&mut rng, max_delay_ns.max(1)),
                    _ => below(&mut rng, max_delay_ns.max(1)),
                };
                let step = below(&mut rng, 3) as u32;
                chain += below(&mut rng, 2);
                queue.push(clock + delay, chain, step, chain * 10 + u64::from(step));
                reference.push(Reverse((clock + delay, chain, step)));
            } else {
                let expected = reference.pop().map(|Reverse(order)| order);
                assert_eq!(queue.peek().map(Due::order), expected);
                let got = queue.pop().map(|(due, value)| (due.order(), value));
                assert_eq!(got.map(|(order, _)| order), expected);
                if let Some(((offset, chain, step), value)) = got {
                    assert_eq!(value, chain * 10 + u64::from(step));
                    clock = offset;
                }
            }
            assert_eq!(queue.len(), reference.len());
        }
        while let Some(Reverse(expected)) = reference.pop() {
            assert_eq!(queue.pop().map(|(due, _)| due.order()), Some(expected));
        }
        assert!(queue.pop().is_none());
    }

    #[test]
    fn entries_leave_in_the_order_of_a_single_heap() {
        // Delays well inside the ring, around its reach, and far beyond it.
        compare_with_one_heap(1, 2_000_000, 200_000);
        compare_with_one_heap(2, 4_000_000_000, 200_000);
        compare_with_one_heap(3, 60_000_000_000, 200_000);
        compare_with_one_heap(4, 0, 20_000);
    }

    #[test]
    fn an_entry_due_before_the_current_bucket_still_comes_first() {
        // Peeking moves the queue on to the bucket of its first entry; an event that was due
        // earlier (an arrival) may then schedule a follow-up before that bucket.
        let mut queue: Queue<u8> = Queue::default();
        queue.push(5_000_000_000, 1, 1, 1);
        assert_eq!(queue.peek().map(|due| due.offset), Some(5_000_000_000));
        queue.push(1_000_000_000, 2, 1, 2);
        assert_eq!(queue.pop().map(|(_, value)| value), Some(2));
        assert_eq!(queue.pop().map(|(_, value)| value), Some(1));
        assert_eq!(queue.pop().map(|(_, value)| value), None);
    }
}
