fn main() {
    let p = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let mut s = livegate_cli::FrameSource::open(&p, None).unwrap();
    for _ in 0..3 {
        match s.next_frame() {
            Ok(Some(f)) => println!(
                "{} {} {}x{}",
                f.timestamp_ms,
                f.jpeg.len(),
                f.width,
                f.height
            ),
            other => println!("{:?}", other.err()),
        }
    }
}
