//! The `null` sink: records are encoded as for any other sink, then dropped, so that a run
//! measures generation alone.

use std::time::Duration;

use super::{Record, Sink, SinkError, TopicDelivery};

/// Counts records and keeps nothing.
#[derive(Debug)]
pub struct NullSink {
    delivery: Vec<TopicDelivery>,
    bytes: u64,
}

impl NullSink {
    pub fn new(topics: usize) -> Self {
        NullSink {
            delivery: vec![TopicDelivery::default(); topics],
            bytes: 0,
        }
    }

    /// Total key and value bytes seen, so the work cannot be optimised away.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Sink for NullSink {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let delivery = &mut self.delivery[record.topic];
        delivery.produced += 1;
        delivery.acknowledged += 1;
        self.bytes += (record.key.len() + record.value.len()) as u64;
        Ok(())
    }

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        self.delivery.clone()
    }

    fn describe(&self) -> String {
        "null (records encoded, then discarded)".into()
    }
}
