// tenpak stream URL [--tensor NAME]: read one tensor of a remote artifact and report what it cost;
// without --tensor, list the tensors with their stored sizes (manifest only).
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/remote/remote_artifact.h"

namespace tenpak::cli {
namespace {

struct StreamArgs {
    std::string url;
    std::string tensor;
    std::string cache;
    size_t connections = 4;
    bool no_cache = false;
    bool json = false;
};

uint64_t StoredBytesOf(const artifact::Manifest& m, const artifact::TensorEntry& tensor) {
    uint64_t total = 0;
    for (uint32_t index : tensor.chunks) total += m.chunks[index].stored_size;
    return total;
}

Status RunStream(const StreamArgs& args) {
    remote::RemoteOptions options;
    options.cache_dir = args.cache;
    options.use_cache = !args.no_cache;
    options.connections = args.connections;
    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const remote::RemoteArtifact remote, remote::OpenRemoteArtifact(args.url, options));
    const artifact::Manifest& m = remote.artifact->manifest();
    const uint64_t open_bytes = remote.client->bytes_received();
    const uint64_t open_requests = remote.client->requests();
    if (args.tensor.empty()) {
        if (args.json) {
            nlohmann::ordered_json list = nlohmann::ordered_json::array();
            for (const artifact::TensorEntry& t : m.tensors) {
                list.push_back({{"name", t.info.name}, {"dtype", DTypeName(t.info.dtype)}, {"shape", t.info.shape},
                                {"nbytes", t.info.nbytes}, {"stored_bytes", StoredBytesOf(m, t)}});
            }
            PrintJson({{"url", args.url}, {"id", remote.artifact->id()}, {"open_bytes", open_bytes},
                       {"open_requests", open_requests}, {"tensors", list}});
            return Status::Ok();
        }
        std::printf("%s (%s): %s and %llu requests to open\n", args.url.c_str(), remote.artifact->id().c_str(),
                    FormatBytes(open_bytes).c_str(), static_cast<unsigned long long>(open_requests));
        for (const artifact::TensorEntry& t : m.tensors) {
            std::printf("  %-52s %-6s %-16s %12s stored\n", t.info.name.c_str(), std::string(DTypeName(t.info.dtype)).c_str(),
                        t.info.ShapeString().c_str(), WithThousands(StoredBytesOf(m, t)).c_str());
        }
        return Status::Ok();
    }
    const artifact::TensorEntry* tensor = remote.artifact->FindTensor(args.tensor);
    if (tensor == nullptr) {
        return Status::NotFound(args.url + ": no tensor '" + args.tensor + "' (run `tenpak stream URL` to list them)");
    }
    TP_ASSIGN_OR_RETURN(const io::TensorData data, remote.artifact->ReadTensor(*tensor, args.connections));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const uint64_t stored = StoredBytesOf(m, *tensor);
    const uint64_t tensor_bytes = remote.client->bytes_received() - open_bytes;
    const double ratio = stored == 0 ? 0.0 : static_cast<double>(tensor_bytes) / static_cast<double>(stored);
    if (args.json) {
        PrintJson({{"url", args.url},
                   {"tensor", tensor->info.name},
                   {"nbytes", data.size()},
                   {"stored_bytes", stored},
                   {"open_bytes", open_bytes},
                   {"open_requests", open_requests},
                   {"tensor_bytes_transferred", tensor_bytes},
                   {"tensor_requests", remote.client->requests() - open_requests},
                   {"transfer_ratio", ratio},
                   {"chunks_from_cache", remote.cache ? remote.cache->hits() : 0},
                   {"seconds", seconds}});
        return Status::Ok();
    }
    std::printf("%s: %s %s, %s (every chunk checked)\n", tensor->info.name.c_str(),
                std::string(DTypeName(tensor->info.dtype)).c_str(), tensor->info.ShapeString().c_str(),
                FormatBytes(data.size()).c_str());
    char line[96];
    std::snprintf(line, sizeof line, " (%.3f x its %s stored)", ratio, FormatBytes(stored).c_str());
    PrintField("transferred", FormatBytes(tensor_bytes) + line + ", plus " + FormatBytes(open_bytes) + " in " +
                                  WithThousands(open_requests) + " requests to open the artifact");
    return Status::Ok();
}

}  // namespace

void AddStreamCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<StreamArgs>();
    CLI::App* cmd = app.add_subcommand("stream", "Read one tensor of a remote .tnpk and report the bytes transferred");
    cmd->add_option("URL", args->url, "http(s) URL of a .tnpk artifact")->required();
    cmd->add_option("--tensor", args->tensor, "The tensor to fetch (default: list the tensors)");
    cmd->add_option("--cache", args->cache, "Chunk cache folder (default $XDG_CACHE_HOME/tenpak/chunks)");
    cmd->add_flag("--no-cache", args->no_cache, "Fetch without the chunk cache");
    cmd->add_option("--connections", args->connections, "Chunks fetched at once (default 4)");
    cmd->add_flag("--json", args->json, "Print JSON for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunStream(*args); }; });
}

}  // namespace tenpak::cli
