//! Selecting services, like `docker compose up web worker`.

use std::collections::BTreeMap;

use crate::error::{ComposeError, Result};
use crate::model::Project;

impl Project {
    /// The project restricted to `names` and, transitively, their dependencies. Named
    /// services (and their dependencies) are enabled even when their profiles are not
    /// active. An empty `names` returns the project unchanged.
    pub fn with_services(&self, names: &[&str]) -> Result<Project> {
        if names.is_empty() {
            return Ok(self.clone());
        }
        let mut keep = BTreeMap::new();
        let mut todo: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        while let Some(n) = todo.pop() {
            if keep.contains_key(&n) {
                continue;
            }
            let s = self
                .services
                .get(&n)
                .or_else(|| self.disabled_services.get(&n))
                .ok_or_else(|| ComposeError::NoSuchService(n.clone()))?;
            todo.extend(s.depends_on.keys().cloned());
            keep.insert(n, s.clone());
        }
        let mut p = self.clone();
        p.disabled_services = self
            .services
            .iter()
            .chain(self.disabled_services.iter())
            .filter(|(n, _)| !keep.contains_key(*n))
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        p.services = keep;
        Ok(p)
    }

    /// All services, enabled or not, by name.
    pub fn all_services(&self) -> impl Iterator<Item = (&String, &crate::model::Service)> {
        self.services.iter().chain(self.disabled_services.iter())
    }
}
