//! `notatin-walk HIVE`: notatin visits every key, decodes every value, prints counts and seconds.
use notatin::parser::ParserIterator;
use notatin::parser_builder::ParserBuilder;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: notatin-walk HIVE");
    let t = Instant::now();
    let parser = ParserBuilder::from_path(path).recover_deleted(false).build().expect("notatin parses the hive");
    let (mut keys, mut values) = (0u64, 0u64);
    for key in ParserIterator::new(&parser).iter() {
        keys += 1;
        for value in key.value_iter() {
            let _content = value.get_content();
            values += 1;
        }
    }
    println!("keys={keys} values={values} seconds={:.4}", t.elapsed().as_secs_f64());
}
