//! Prints MemInfo as JSON: `cargo run -p triage-winmem --example meminfo -- IMAGE [SYMBOLS_DIR]`
fn main() {
    let mut args = std::env::args_os().skip(1);
    let image = args.next().expect("usage: meminfo IMAGE [SYMBOLS_DIR]");
    let symbols = args.next();
    let t = std::time::Instant::now();
    let info =
        triage_winmem::mem_info_path(image.as_ref(), symbols.as_deref().map(std::path::Path::new))
            .expect("open");
    let elapsed = t.elapsed();
    println!("{}", serde_json::to_string_pretty(&info).expect("json"));
    eprintln!("mem_info: {elapsed:?}");
}
