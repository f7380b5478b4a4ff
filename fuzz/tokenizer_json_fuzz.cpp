// Fuzzes the tokenizer.json reader and the encoder it configures: any bytes must give a clean
// Status; an accepted file must build a tokenizer (or be refused as kUnsupported) that encodes and
// decodes text without crashing and only yields ids inside its vocabulary; and a vocabulary the
// writer accepts must read back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tenpak/io/tokenizer_json.h"
#include "tenpak/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    tenpak::Result<tenpak::io::TokenizerJson> parsed = tenpak::io::ParseTokenizerJson(text, "fuzz");
    if (!parsed.ok()) return 0;
    const tenpak::io::Vocab& vocab = parsed->vocab;
    if (vocab.tokens.empty() || vocab.types.size() != vocab.tokens.size()) std::abort();

    tenpak::Result<std::unique_ptr<tenpak::tokenizer::Tokenizer>> tokenizer =
        tenpak::tokenizer::TokenizerFromJson(text, "fuzz");
    if (tokenizer.ok()) {
        for (std::string_view sample :
             {std::string_view("Hello world, it's 2024!\n\n  ok"),
              std::string_view("caf\xC3\xA9 \xE6\x97\xA5\xFF\x00 <s>", 16), std::string_view("")}) {
            const std::vector<int32_t> ids = (*tokenizer)->Encode(sample, true);
            for (int32_t id : ids) {
                if (id < 0 || static_cast<size_t>(id) >= (*tokenizer)->vocab_size()) std::abort();
            }
            (void)(*tokenizer)->Decode(ids);
        }
    } else if (tokenizer.status().code() != tenpak::StatusCode::kUnsupported) {
        std::abort();  // the file parsed, so only "cannot run this" may stop the tokenizer
    }

    tenpak::Result<std::string> written = tenpak::io::WriteTokenizerJson(vocab);
    if (written.ok() && !tenpak::io::ParseTokenizerJson(*written, "fuzz (written)").ok()) std::abort();
    return 0;
}
