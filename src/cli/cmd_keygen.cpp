// tenpak keygen -o NAME [--hmac]: an Ed25519 key pair (NAME, NAME.pub) or an HMAC secret.
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/artifact/signing.h"

namespace tenpak::cli {
namespace {

struct KeygenArgs {
    std::string output;
    bool hmac = false;
    bool json = false;
};

Status RunKeygen(const KeygenArgs& args) {
    if (args.hmac) {
        TP_RETURN_IF_ERROR(artifact::WriteHmacKey(args.output));
    } else {
        TP_RETURN_IF_ERROR(artifact::WriteEd25519KeyPair(args.output));
    }
    if (args.json) {
        nlohmann::ordered_json out = {{"scheme", args.hmac ? "hmac-sha256" : "ed25519"}, {"secret_key", args.output}};
        if (!args.hmac) {
            TP_ASSIGN_OR_RETURN(const std::vector<uint8_t> pub, artifact::ReadEd25519PublicKey(args.output + ".pub"));
            out["public_key"] = args.output + ".pub";
            out["fingerprint"] = artifact::KeyFingerprint(pub);
        }
        PrintJson(out);
        return Status::Ok();
    }
    if (args.hmac) {
        std::printf("wrote the HMAC secret %s (mode 0600); share it only with those who verify\n", args.output.c_str());
    } else {
        std::printf("wrote the secret key %s (mode 0600) and the public key %s.pub\n", args.output.c_str(),
                    args.output.c_str());
    }
    return Status::Ok();
}

}  // namespace

void AddKeygenCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<KeygenArgs>();
    CLI::App* cmd = app.add_subcommand("keygen", "Make a key for signing .tnpk artifacts");
    cmd->add_option("-o,--output", args->output, "Secret key file (the public key goes to NAME.pub)")->required();
    cmd->add_flag("--hmac", args->hmac, "Make a shared HMAC-SHA256 secret instead of an Ed25519 key pair");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunKeygen(*args); }; });
}

}  // namespace tenpak::cli
