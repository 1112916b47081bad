//! Deployments: admission (standard rolling windows, provisioned leaky bucket) and serving
//! (processor-sharing decode).

pub mod bucket;
pub mod decode;
pub mod window;

pub use bucket::LeakyBucket;
pub use decode::ProcessorSharing;
pub use window::RollingWindow;
