pub mod images;
pub mod registry;
