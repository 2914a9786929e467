//! The `avro-files` sink: one Avro object container file per topic, `TOPIC.avro`.
//!
//! Container files carry their schema, so any Avro tool can read them back. Each datum is
//! decoded and appended through `apache-avro`'s writer, which validates it against the schema;
//! this costs more than writing bytes through, and files are meant for inspection, not for
//! throughput. The sync marker is derived from the seed and the topic, so the same run writes
//! the same bytes.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::{Schema, Writer};

use super::{Record, Sink, SinkError, TopicDelivery};

/// One open container file.
struct TopicFile<'a> {
    name: String,
    path: PathBuf,
    reader: GenericDatumReader<'a>,
    writer: Writer<'a, BufWriter<File>>,
}

/// Writes each topic's records into `DIR/TOPIC.avro`.
pub struct AvroFilesSink<'a> {
    dir: PathBuf,
    files: Vec<TopicFile<'a>>,
    delivery: Vec<TopicDelivery>,
}

impl<'a> AvroFilesSink<'a> {
    /// Creates `dir` if needed and one file per `(topic name, schema)`.
    pub fn create(dir: &Path, topics: &[(&str, &'a Schema)], seed: u64) -> Result<Self, SinkError> {
        let io_error = |path: &Path, source| SinkError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;

        let mut files = Vec::with_capacity(topics.len());
        for (index, (name, schema)) in topics.iter().enumerate() {
            let path = dir.join(format!("{name}.avro"));
            let file = File::create(&path).map_err(|source| io_error(&path, source))?;
            let writer = Writer::builder()
                .schema(schema)
                .writer(BufWriter::new(file))
                .marker(sync_marker(seed, index))
                .build()
                .map_err(|error| SinkError::Avro {
                    topic: name.to_string(),
                    reason: error.to_string(),
                })?;
            let reader = GenericDatumReader::builder(schema)
                .build()
                .map_err(|error| SinkError::Avro {
                    topic: name.to_string(),
                    reason: error.to_string(),
                })?;
            files.push(TopicFile {
                name: name.to_string(),
                path,
                reader,
                writer,
            });
        }
        let delivery = vec![TopicDelivery::default(); topics.len()];
        Ok(AvroFilesSink {
            dir: dir.to_path_buf(),
            files,
            delivery,
        })
    }
}

/// Sixteen bytes fixed by the seed and the topic's position.
fn sync_marker(seed: u64, topic: usize) -> [u8; 16] {
    use rand::Rng as _;
    let mut rng = crate::sim::rng::stream(
        seed,
        crate::sim::rng::Domain::Record,
        u64::MAX,
        topic as u64,
    );
    let mut marker = [0u8; 16];
    rng.fill_bytes(&mut marker);
    marker
}

impl Sink for AvroFilesSink<'_> {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let file = &mut self.files[record.topic];
        let delivery = &mut self.delivery[record.topic];
        delivery.produced += 1;

        let value = match file.reader.read_value(&mut &record.value[..]) {
            Ok(value) => value,
            Err(error) => {
                *delivery
                    .failed
                    .entry(format!("datum does not decode: {error}"))
                    .or_default() += 1;
                return Ok(());
            }
        };
        match file.writer.append_value_ref(&value) {
            Ok(_) => delivery.acknowledged += 1,
            Err(error) => {
                *delivery
                    .failed
                    .entry(format!("cannot append: {error}"))
                    .or_default() += 1;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        for file in &mut self.files {
            file.writer.flush().map_err(|error| SinkError::Avro {
                topic: file.name.clone(),
                reason: format!("{}: {error}", file.path.display()),
            })?;
        }
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        self.delivery.clone()
    }

    fn describe(&self) -> String {
        format!("avro-files in {}", self.dir.display())
    }
}
