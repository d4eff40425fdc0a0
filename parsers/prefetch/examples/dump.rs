//! Print what the parser reads from prefetch files (a debugging aid).
fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).expect("readable file");
        match triage_prefetch::parse(&data) {
            Ok(pf) => println!("{path}: {pf:#?}"),
            Err(e) => println!("{path}: error: {e}"),
        }
    }
}
