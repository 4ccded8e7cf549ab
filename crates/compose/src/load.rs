//! The only I/O of the crate: [`Project::load`] reads the named files from the file system.

use crate::error::Result;
use crate::model::Project;
use crate::project::{LoadOptions, Loaded};

impl Project {
    /// Loads a project from the file system. See [`LoadOptions`] and [`Project::load_with`].
    pub fn load(opts: &LoadOptions) -> Result<Loaded> {
        Project::load_with(opts, &|p| std::fs::read_to_string(p))
    }
}
