fn main() {
    std::process::exit(tenderscan::cli::main());
}
