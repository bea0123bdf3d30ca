//! `cargo xtask`: the project's chores (CI, tidy, fuzz, bench), written in Rust so they run
//! wherever cargo does.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("usage: cargo xtask <ci|tidy|fuzz|bench>")
}
