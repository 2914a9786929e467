//! The `stdout` sink: one JSON object per line, in emission order.
//!
//! Each line is `{"topic":NAME,"key":TEXT,"timestamp":MILLIS,"value":{...}}`, the value decoded
//! from its Avro datum into plain JSON (see [`crate::encoding::json`]). Lines are buffered, and
//! the buffer is flushed whenever the run waits; a reader that goes away (`simrun ... | head`)
//! ends the run quietly rather than failing it.

use std::io::{self, BufWriter, Write};
use std::time::Duration;

use apache_avro::Schema;

use super::{Record, Sink, SinkError, TopicDelivery};
use crate::encoding::json::datum_to_json;

/// A topic as the stdout sink prints it.
#[derive(Debug)]
pub struct StdoutTopic<'a> {
    pub name: &'a str,
    pub schema: &'a Schema,
}

/// Writes JSON Lines to any writer; standard output in a run.
pub struct JsonLinesSink<'a, W: Write> {
    topics: Vec<StdoutTopic<'a>>,
    out: BufWriter<W>,
    delivery: Vec<TopicDelivery>,
    line: Vec<u8>,
}

impl<'a> JsonLinesSink<'a, io::Stdout> {
    pub fn stdout(topics: Vec<StdoutTopic<'a>>) -> Self {
        JsonLinesSink::new(topics, io::stdout())
    }
}

impl<'a, W: Write> JsonLinesSink<'a, W> {
    pub fn new(topics: Vec<StdoutTopic<'a>>, out: W) -> Self {
        let delivery = vec![TopicDelivery::default(); topics.len()];
        JsonLinesSink {
            topics,
            out: BufWriter::with_capacity(1 << 16, out),
            delivery,
            line: Vec::new(),
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.out.into_inner().map_err(|error| error.into_error())
    }
}

/// Renders one record as a JSON Lines line (without the newline).
pub fn json_line(
    line: &mut Vec<u8>,
    topic: &str,
    schema: &Schema,
    key: &[u8],
    timestamp_ms: i64,
    value: &[u8],
) -> Result<(), String> {
    let value = datum_to_json(schema, value).map_err(|error| error.to_string())?;
    let key = String::from_utf8_lossy(key);
    line.clear();
    line.extend_from_slice(b"{\"topic\":");
    serde_json::to_writer(&mut *line, topic).map_err(|e| e.to_string())?;
    line.extend_from_slice(b",\"key\":");
    serde_json::to_writer(&mut *line, &key).map_err(|e| e.to_string())?;
    line.extend_from_slice(format!(",\"timestamp\":{timestamp_ms},\"value\":").as_bytes());
    serde_json::to_writer(&mut *line, &value).map_err(|e| e.to_string())?;
    line.push(b'}');
    Ok(())
}

impl<W: Write> Sink for JsonLinesSink<'_, W> {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let topic = &self.topics[record.topic];
        let delivery = &mut self.delivery[record.topic];
        delivery.produced += 1;

        let rendered = json_line(
            &mut self.line,
            topic.name,
            topic.schema,
            record.key,
            record.timestamp_ms,
            record.value,
        );
        if let Err(reason) = rendered {
            *delivery
                .failed
                .entry(format!("cannot render as JSON: {reason}"))
                .or_default() += 1;
            return Ok(());
        }
        self.line.push(b'\n');
        match self.out.write_all(&self.line) {
            Ok(()) => {
                delivery.acknowledged += 1;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                // The reader stopped reading: this record was never taken, and nothing failed.
                delivery.produced -= 1;
                Err(SinkError::Closed)
            }
            Err(error) => {
                *delivery
                    .failed
                    .entry(format!("cannot write to stdout: {error}"))
                    .or_default() += 1;
                Err(SinkError::Io {
                    path: "stdout".into(),
                    source: error,
                })
            }
        }
    }

    /// Flushes what is buffered before waiting, so that a paced run's lines appear as they are
    /// made rather than a buffer at a time.
    fn idle(&mut self, wait: Duration) {
        // A failed flush is reported by the next `send` or by `finish`.
        let _ = self.out.flush();
        std::thread::sleep(wait);
    }

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        match self.out.flush() {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(SinkError::Closed),
            Err(source) => Err(SinkError::Io {
                path: "stdout".into(),
                source,
            }),
            Ok(()) => Ok(()),
        }
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        self.delivery.clone()
    }

    fn describe(&self) -> String {
        "stdout (JSON Lines)".into()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// A writer whose bytes the test can look at while the sink still owns it.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_reach_the_reader_when_the_run_waits() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"R","fields":[
            {"name":"n","type":"long"}]}"#,
        )
        .unwrap();
        let written = Shared::default();
        let topics = vec![StdoutTopic {
            name: "t",
            schema: &schema,
        }];
        let mut sink = JsonLinesSink::new(topics, written.clone());
        let record = Record {
            topic: 0,
            key: b"k",
            value: &[6],
            timestamp_ms: 5,
        };
        sink.send(&record).unwrap();
        assert!(written.0.borrow().is_empty(), "lines are buffered");

        sink.idle(Duration::ZERO);
        let line = String::from_utf8(written.0.borrow().clone()).unwrap();
        assert_eq!(
            line,
            "{\"topic\":\"t\",\"key\":\"k\",\"timestamp\":5,\"value\":{\"n\":3}}\n"
        );
    }
}
