pub mod gc;
pub mod images;
pub mod registry;
