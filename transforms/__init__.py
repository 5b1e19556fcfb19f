"""Pure polars transforms: LazyFrame in, LazyFrame out. No Prefect, no filesystem."""
