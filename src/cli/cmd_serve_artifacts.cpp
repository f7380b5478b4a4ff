// tenpak serve-artifacts DIR [--host H] [--port P]: serves a folder of artifacts over HTTP (GET, HEAD,
// ranges) until SIGINT or SIGTERM, for tests and for small deployments without a CDN.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/remote/file_server.h"

namespace tenpak::cli {
namespace {

struct ServeArtifactsArgs {
    std::string root;
    std::string host = "127.0.0.1";
    int port = 8080;
    bool json = false;
};

// The server the signal handler stops. Stop() is async-signal-safe (file_server.h); a handler is
// used rather than blocking the signals and waiting for them, because threads that libraries start
// before main (OpenBLAS's pool) would not block them, and the default action would end the process.
std::atomic<remote::FileServer*> g_serving{nullptr};

extern "C" void StopServing(int) {
    if (remote::FileServer* server = g_serving.load()) server->Stop();
}

Status RunServeArtifacts(const ServeArtifactsArgs& args) {
    remote::FileServerOptions options;
    options.root = args.root;
    options.host = args.host;
    options.port = args.port;
    TP_ASSIGN_OR_RETURN(std::unique_ptr<remote::FileServer> server, remote::FileServer::Start(options));
    g_serving = server.get();
    struct sigaction action {};
    action.sa_handler = StopServing;
    sigemptyset(&action.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    sigaction(SIGINT, &action, &old_int);
    sigaction(SIGTERM, &action, &old_term);

    if (args.json) {
        PrintJson({{"root", args.root}, {"url", server->url()}, {"host", args.host}, {"port", server->port()}});
    } else {
        std::printf("serving %s at %s (Ctrl-C to stop)\n", args.root.c_str(), server->url().c_str());
    }
    std::fflush(stdout);  // a script reading the URL from a pipe needs it now, not at exit
    server->Wait();

    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    g_serving = nullptr;
    return Status::Ok();
}

}  // namespace

void AddServeArtifactsCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<ServeArtifactsArgs>();
    CLI::App* cmd = app.add_subcommand("serve-artifacts", "Serve a folder of artifacts over HTTP, with range requests");
    cmd->add_option("DIR", args->root, "The folder to serve; requests cannot leave it")->required();
    cmd->add_option("--host", args->host, "Address to listen on (default 127.0.0.1; 0.0.0.0 for all)");
    cmd->add_option("--port", args->port, "Port to listen on (default 8080; 0 picks a free one, printed)");
    cmd->add_flag("--json", args->json, "Print the URL as JSON (root, url, host, port) once listening");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunServeArtifacts(*args); }; });
}

}  // namespace tenpak::cli
