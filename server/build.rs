//! Rebuilds the server when `web/` changes: the page's files are embedded at compile time, and
//! a file added by `npm ci` would otherwise not be picked up.

fn main() {
    println!("cargo:rerun-if-changed=../web");
}
