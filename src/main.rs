fn main() -> std::process::ExitCode {
    scimdesk::cli::main()
}
