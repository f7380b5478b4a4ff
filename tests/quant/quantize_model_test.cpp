// tenpak quantize as a library call on the bundled model (stories260K: hidden 64, intermediate 172,
// so down_proj's input of 172 fits no 32-multiple group and shows the "kept in F16" path): every
// preset and format re-opened by TenPak with the right names, dtypes, shapes and config keys, run
// by the engine, and, in the Slow tests, its perplexity checked against bounds measured and
// explained below. GGUF output is compared byte for byte with llama.cpp's own quantized files.
#include "tenpak/quant/quantize_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "engine_fixture.h"
#include "model_factory.h"
#include "quant/quantizing_rewriter.h"
#include "tenpak/core/cast.h"
#include "tenpak/io/gguf.h"
#include "tenpak/model/model_writer.h"
#include "test_util.h"

namespace tenpak::quant {
namespace {

namespace fs = std::filesystem;
using quantformat::Layout;

std::string BundledModel() {
    return testing::BundledModel();
}

const model::Model& Bundled() {
    static const model::Model* m = [] {
        auto opened = model::OpenModel(BundledModel());
        if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
        return new model::Model(std::move(opened).value());
    }();
    return *m;
}

QuantizeRequest Rtn(OutputFormat format, int bits, int64_t group, bool sym) {
    QuantizeRequest r;
    r.format = format;
    r.options.method = Method::kRtn;
    r.options.bits = bits;
    r.options.group_size = group;
    r.options.symmetric = sym;
    r.progress = false;
    return r;
}

QuantizeRequest Preset(const std::string& name) {
    auto r = PresetRequest(name);
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    r->progress = false;
    return *r;
}

QuantizeRequest Gguf(DType type) {
    QuantizeRequest r;
    r.format = OutputFormat::kGguf;
    r.gguf_type = type;
    r.progress = false;
    return r;
}

const char* const kLinears[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

struct Variant {
    std::string name;
    QuantizeRequest request;
    std::optional<Layout> layout;       // of config.json's quantization_config; nullopt: plain or GGUF
    std::vector<std::string> suffixes;  // tensors of a quantized linear layer
    // Linear layers the format cannot hold, left in F16: down_proj's 172 inputs fit no 32-multiple
    // group; gate/up_proj's 172 outputs do not fill GPTQ's qzeros words (32 / bits columns each, 32
    // for 3-bit) or AWQ's (8).
    std::vector<std::string> kept;
};

const std::vector<std::string> kNone = {};
const std::vector<std::string> kDown = {"mlp.down_proj"};
const std::vector<std::string> kMlp = {"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};

void PrintTo(const Variant& c, std::ostream* os) {
    *os << c.name;
}

std::vector<Variant> Variants() {
    const std::vector<std::string> gptq = {"g_idx", "qweight", "qzeros", "scales"};
    const std::vector<std::string> bnb4 = {"weight", "weight.absmax", "weight.quant_map"};
    std::vector<std::string> nf4 = bnb4;
    for (const char* s : {"weight.nested_absmax", "weight.nested_quant_map", "weight.quant_state.bitsandbytes__nf4"}) {
        nf4.push_back(s);
    }
    std::vector<std::string> fp4 = bnb4;
    fp4.push_back("weight.quant_state.bitsandbytes__fp4");
    return {
        {"bnb_nf4", Preset("bnb_nf4"), Layout::kBnb4, nf4, kNone},
        {"bnb_fp4", Preset("bnb_fp4"), Layout::kBnb4, fp4, kNone},
        {"bnb_int8", Preset("bnb_int8"), Layout::kBnb8, {"SCB", "weight", "weight_format"}, kNone},
        {"fp16", Preset("fp16"), std::nullopt, {"weight"}, kNone},
        {"rtn_gptq_4bit_g32_sym", Rtn(OutputFormat::kGptq, 4, 32, true), Layout::kGptq, gptq, kMlp},
        {"rtn_gptq_4bit_g64_asym", Rtn(OutputFormat::kGptq, 4, 64, false), Layout::kGptq, gptq, kMlp},
        {"rtn_gptq_3bit_g32_sym", Rtn(OutputFormat::kGptq, 3, 32, true), Layout::kGptq, gptq, kMlp},
        {"rtn_gptq_2bit_g32_asym", Rtn(OutputFormat::kGptq, 2, 32, false), Layout::kGptq, gptq, kMlp},
        {"rtn_gptq_8bit_perchannel_sym", Rtn(OutputFormat::kGptq, 8, -1, true), Layout::kGptq, gptq, kDown},
        {"rtn_awq_4bit_g32",
         Rtn(OutputFormat::kAwq, 4, 32, false),
         Layout::kAwqGemm,
         {"qweight", "qzeros", "scales"},
         kMlp},
    };
}

class QuantizeVariantTest : public ::testing::TestWithParam<Variant> {};

TEST_P(QuantizeVariantTest, ReopensWithTheLayoutsTensorsAndRuns) {
    const Variant& v = GetParam();
    testing::TempDir dir;
    const std::string out = dir.File("out");
    auto report = QuantizeModel(Bundled(), v.request, out);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_GT(report->bytes_before, report->bytes_after) << "F32 in, at most F16 out";
    const auto is_kept = [&](const std::string& linear) {
        return std::find(v.kept.begin(), v.kept.end(), linear) != v.kept.end();
    };
    const int64_t layers = 5;
    EXPECT_EQ(report->quantized_layers, v.layout ? static_cast<int64_t>(7 - v.kept.size()) * layers : 0);
    ASSERT_EQ(report->kept.size(), v.kept.size() * layers);
    for (const KeptLayer& k : report->kept) {
        EXPECT_TRUE(is_kept(k.name.substr(k.name.find('.', std::string("model.layers.").size()) + 1))) << k.name;
    }

    auto reopened = model::OpenModel(out);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    const model::Model& m = *reopened;
    ASSERT_EQ(m.config.quantization.has_value(), v.layout.has_value());
    if (v.layout) {
        EXPECT_EQ(m.config.quantization->layout, *v.layout);
    }
    EXPECT_EQ(m.tensors->Find("model.embed_tokens.weight")->dtype, DType::kF16);
    EXPECT_EQ(m.tensors->Find("model.norm.weight")->dtype, DType::kF16);
    for (int layer = 0; layer < 5; ++layer) {
        for (const char* linear : kLinears) {
            const std::string prefix = "model.layers." + std::to_string(layer) + "." + linear;
            const bool kept = is_kept(linear);
            if (kept || !v.layout) {
                const io::TensorInfo* w = m.tensors->Find(prefix + ".weight");
                ASSERT_NE(w, nullptr) << prefix;
                EXPECT_EQ(w->dtype, DType::kF16) << prefix;
                continue;
            }
            for (const std::string& suffix : v.suffixes) {
                EXPECT_NE(m.tensors->Find(prefix + "." + suffix), nullptr) << prefix << "." << suffix;
            }
        }
    }
    // The config keys loaders need (formats.md B.6, C.3, D.3), and the carried tokenizer.
    const nlohmann::json config = nlohmann::json::parse(testing::ReadFile(out + "/config.json"));
    EXPECT_EQ(config["torch_dtype"], "float16");
    if (v.layout == Layout::kGptq) {
        const nlohmann::json& q = config["quantization_config"];
        for (const char* key : {"bits", "group_size", "desc_act", "sym", "quant_method", "checkpoint_format"}) {
            EXPECT_TRUE(q.contains(key)) << key;
        }
        EXPECT_EQ(q["checkpoint_format"], "gptq");
        EXPECT_EQ(q["bits"], v.request.options.bits);
        EXPECT_EQ(q["sym"], v.request.options.symmetric);
        EXPECT_TRUE(fs::exists(out + "/quantize_config.json"));
        EXPECT_EQ(q.contains("dynamic"), !v.kept.empty());
    }
    if (v.layout == Layout::kAwqGemm) {
        const nlohmann::json& q = config["quantization_config"];
        EXPECT_EQ(q["quant_method"], "awq");
        EXPECT_EQ(q["version"], "gemm");
        EXPECT_EQ(q["zero_point"], true);
        EXPECT_EQ(q["modules_to_not_convert"].size(), v.kept.size() * 5);
    }
    if (v.layout == Layout::kBnb4 || v.layout == Layout::kBnb8) {
        const nlohmann::json& q = config["quantization_config"];
        EXPECT_EQ(q["quant_method"], "bitsandbytes");
        EXPECT_EQ(q["load_in_4bit"], v.layout == Layout::kBnb4);
        EXPECT_TRUE(q["llm_int8_threshold"].is_number_float());
    }
    EXPECT_TRUE(fs::exists(out + "/tokenizer.model"));
    EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));

    // The engine runs it and its logits stay finite.
    testing::LoadedModel l = testing::LoadForInference(out, 64);
    const std::vector<int32_t> tokens = l.tokenizer->Encode("Once upon a time, there was a little girl.", true);
    std::vector<float> logits(static_cast<size_t>(m.config.vocab_size));
    ASSERT_TRUE(l.engine->Forward(tokens, static_cast<int64_t>(tokens.size()) - 1, logits).ok());
    for (float x : logits) ASSERT_TRUE(std::isfinite(x));
}

INSTANTIATE_TEST_SUITE_P(Stories260K, QuantizeVariantTest, ::testing::ValuesIn(Variants()),
                         [](const ::testing::TestParamInfo<Variant>& p) { return p.param.name; });

TEST(QuantizeModelTest, RefusesUnsupportedCombinationsBeforeAnyWork) {
    testing::TempDir dir;
    const std::string out = dir.File("out");
    struct Case {
        QuantizeRequest request;
        std::string message;
    };
    QuantizeRequest bnb_rtn = Rtn(OutputFormat::kBnb, 4, 64, true);
    QuantizeRequest gguf_nf4 = Preset("bnb_nf4");
    gguf_nf4.format = OutputFormat::kGguf;
    const Case cases[] = {
        {Rtn(OutputFormat::kAwq, 3, 32, false), "AWQ stores 4-bit codes only"},
        {bnb_rtn, "bitsandbytes format stores nf4, fp4 or int8"},
        {gguf_nf4, "GGUF has no nf4 blocks"},
        {Rtn(OutputFormat::kGguf, 4, 128, true), "has no GGUF block type"},
        {Rtn(OutputFormat::kGptq, 5, 32, true), "5"},
        {Gguf(DType::kQ5_K), "not supported (supported: F16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)"},
    };
    for (const Case& c : cases) {
        auto r = QuantizeModel(Bundled(), c.request, out);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
        EXPECT_FALSE(fs::exists(out));
    }
}

TEST(QuantizeModelTest, AFormatThatHoldsNoLayerIsRefused) {
    // Group 128 > hidden 64: no linear layer of the bundled model divides into it.
    testing::TempDir dir;
    auto r = QuantizeModel(Bundled(), Rtn(OutputFormat::kGptq, 4, 128, true), dir.File("out"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("none of"), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(dir.File("out")));
}

// GPT-2's Conv1D weights are stored [in, out] and quantized as [out, in], the square attn.c_proj
// included (whose shape alone does not tell): at 8 bits every layout's logits stay near the float
// model's, which an untransposed layer would scramble.
TEST(QuantizeModelTest, Gpt2Conv1DWeightsAreTransposedEvenWhenSquare) {
    testing::TempDir dir;
    testing::TinyGpt2 spec;
    spec.hidden = 64;  // attn.c_proj is 64 x 64
    spec.context = 16;
    spec.vocab = 512;  // the bundled tokenizer's, copied in (the engine fixture loads one)
    const std::string path = dir.File("gpt2");
    testing::WriteTinyGpt2(path, spec);
    fs::copy_file(BundledModel() + "/tokenizer.json", path + "/tokenizer.json");
    auto m = model::OpenModel(path);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    for (const auto& [name, request] : std::vector<std::pair<std::string, QuantizeRequest>>{
             {"rtn8", Rtn(OutputFormat::kGptq, 8, 32, true)}, {"int8", Preset("bnb_int8")}}) {
        ASSERT_TRUE(QuantizeModel(*m, request, dir.File(name)).ok()) << name;
        const double error = testing::RelativeLogitError(dir.File(name), path, {1, 2, 3, 4, 5, 6, 7, 8});
        std::printf("[ gpt2 %s ] relative logit error %.5f\n", name.c_str(), error);
        EXPECT_LT(error, 0.05) << name;
    }
}

TEST(QuantizeModelTest, AlreadyQuantizedInputIsRefused) {
    testing::TempDir dir;
    ASSERT_TRUE(QuantizeModel(Bundled(), Preset("bnb_int8"), dir.File("int8")).ok());
    auto m = model::OpenModel(dir.File("int8"));
    ASSERT_TRUE(m.ok());
    auto r = QuantizeModel(*m, Preset("bnb_nf4"), dir.File("again"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("already quantized"), std::string::npos);
    // A GGUF of GGML blocks too (llama.cpp's Q4_0 file of the bundled model).
    auto gguf = model::OpenModel(testing::SharedData("stories260K/gguf/stories260K-q4_0-mix.gguf"));
    ASSERT_TRUE(gguf.ok());
    r = QuantizeModel(*gguf, Gguf(DType::kQ8_0), dir.File("again.gguf"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("is Q4_0"), std::string::npos) << r.status().message();
    EXPECT_FALSE(fs::exists(dir.File("again.gguf")));
}

// --- The lookahead (quantizing_rewriter.h): the next layer is made on a background thread while
// the writer writes the current one. It must guess the writers' order right, and change nothing
// in the output or in the errors.

// Writes the bundled model as F16 (as most checkpoints are), optionally with a NaN at (row 2,
// column 5) of one tensor.
class F16CopyWithNaN : public model::TensorRewriter {
public:
    explicit F16CopyWithNaN(std::string nan_tensor) : nan_tensor_(std::move(nan_tensor)) {}
    Result<std::optional<std::vector<io::TensorInfo>>> Plan(const io::TensorInfo& info, bool) override {
        if (info.name != nan_tensor_) return std::optional<std::vector<io::TensorInfo>>();
        io::TensorInfo out = info;
        out.dtype = DType::kF16;
        out.nbytes = static_cast<uint64_t>(info.NumElements()) * 2;
        return std::optional<std::vector<io::TensorInfo>>(std::vector<io::TensorInfo>{out});
    }
    Result<io::TensorData> Produce(const io::TensorInfo& canonical, const io::TensorInfo& out) override {
        TP_ASSIGN_OR_RETURN(io::TensorData data, Bundled().tensors->Read(canonical));
        const size_t count = static_cast<size_t>(canonical.NumElements());
        std::vector<float> values(count);
        TP_RETURN_IF_ERROR(CastTensor(canonical.dtype, data.bytes(), DType::kF32,
                                      {reinterpret_cast<std::byte*>(values.data()), count * sizeof(float)}, count));
        values[static_cast<size_t>(2 * canonical.shape[1] + 5)] = std::numeric_limits<float>::quiet_NaN();
        std::vector<std::byte> bytes(out.nbytes);
        TP_RETURN_IF_ERROR(CastTensor(DType::kF32,
                                      {reinterpret_cast<const std::byte*>(values.data()), count * sizeof(float)},
                                      DType::kF16, bytes, count));
        return io::TensorData::Own(std::move(bytes));
    }

private:
    std::string nan_tensor_;
};

model::Model F16Bundled(const std::string& dir, const std::string& nan_tensor = "") {
    F16CopyWithNaN rewriter(nan_tensor);
    model::WriteOptions options;
    options.dtype = DType::kF16;
    options.progress = false;
    options.rewriter = &rewriter;
    auto written = model::WriteHfFolder(Bundled(), dir, options);
    if (!written.ok()) throw std::runtime_error(written.status().ToString());
    auto opened = model::OpenModel(dir);
    if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
    return std::move(opened).value();
}

std::map<std::string, std::string> FileContents(const std::string& path) {
    std::map<std::string, std::string> files;
    const auto read = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    };
    if (fs::is_directory(path)) {
        for (const auto& entry : fs::directory_iterator(path)) files[entry.path().filename().string()] = read(entry.path());
    } else {
        files[fs::path(path).filename().string()] = read(path);
    }
    return files;
}

TEST(QuantizeLookaheadTest, GuessesTheWritersOrder) {
    testing::TempDir dir;
    const model::Model f16 = F16Bundled(dir.File("f16"));
    for (const auto& [name, request] : {std::pair{"bnb_nf4", Preset("bnb_nf4")},
                                        std::pair{"rtn_gptq", Rtn(OutputFormat::kGptq, 4, 32, true)},
                                        std::pair{"gguf_q4_0", Gguf(DType::kQ4_0)}}) {
        SCOPED_TRACE(name);
        ThreadPool pool(2);
        internal::QuantizingRewriter rewriter(f16, request, pool);
        model::WriteOptions options;
        options.dtype = DType::kF16;
        options.progress = false;
        options.rewriter = &rewriter;
        const bool gguf = request.format == OutputFormat::kGguf;
        const std::string out = dir.File(std::string(name) + (gguf ? ".gguf" : ""));
        auto written = gguf ? model::WriteGguf(f16, out, options) : model::WriteHfFolder(f16, out, options);
        ASSERT_TRUE(written.ok()) << written.status().ToString();
        EXPECT_GT(rewriter.quantized_layers(), 0);
        EXPECT_EQ(rewriter.lookahead_hits(), rewriter.quantized_layers());
        EXPECT_EQ(rewriter.lookahead_misses(), 0);
    }
}

TEST(QuantizeLookaheadTest, OutputDoesNotDependOnTheThreadCount) {
    testing::TempDir dir;
    const model::Model f16 = F16Bundled(dir.File("f16"));
    for (const model::Model* source : {&Bundled(), &f16}) {  // F32 (read in place) and F16 (cast per group)
        for (auto [name, request] : {std::pair{"bnb_nf4", Preset("bnb_nf4")}, std::pair{"bnb_int8", Preset("bnb_int8")},
                                     std::pair{"rtn_gptq", Rtn(OutputFormat::kGptq, 4, 32, false)},
                                     std::pair{"gguf_q4_1", Gguf(DType::kQ4_1)}}) {
            SCOPED_TRACE(std::string(name) + (source == &f16 ? " from F16" : " from F32"));
            const std::string suffix = request.format == OutputFormat::kGguf ? ".gguf" : "";
            std::map<std::string, std::string> first;
            for (int threads : {1, 2, 3}) {
                request.threads = threads;
                // The same file name each time: a GGUF records its name in general.name.
                const std::string folder = dir.File(std::string(name) + std::to_string(threads));
                fs::create_directories(folder);
                const std::string out = (fs::path(folder) / ("out" + suffix)).string();
                auto report = QuantizeModel(*source, request, out);
                ASSERT_TRUE(report.ok()) << report.status().ToString();
                const std::map<std::string, std::string> files = FileContents(out);
                if (threads == 1) {
                    first = files;
                } else {
                    EXPECT_TRUE(files == first) << "threads " << threads;
                }
                fs::remove_all(folder);
            }
        }
    }
}

TEST(QuantizeLookaheadTest, ANaNInALayerMadeAheadIsNamedAndNothingIsLeft) {
    // Layer 3's q_proj is made in the background while the writer writes layer 2's last tensors.
    testing::TempDir dir;
    const std::string bad = "model.layers.3.self_attn.q_proj.weight";
    const model::Model f16 = F16Bundled(dir.File("f16"), bad);
    for (auto [name, request] : {std::pair{"bnb_nf4", Preset("bnb_nf4")}, std::pair{"bnb_int8", Preset("bnb_int8")},
                                 std::pair{"rtn_gptq", Rtn(OutputFormat::kGptq, 4, 32, true)},
                                 std::pair{"gguf_q8_0", Gguf(DType::kQ8_0)}}) {
        SCOPED_TRACE(name);
        request.threads = 2;
        const std::string out = dir.File(std::string(name) + (request.format == OutputFormat::kGguf ? ".gguf" : ""));
        auto report = QuantizeModel(f16, request, out);
        ASSERT_FALSE(report.ok());
        EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
        EXPECT_NE(report.status().message().find("tensor '" + bad + "'"), std::string::npos)
            << report.status().message();
        EXPECT_NE(report.status().message().find("NaN at row 2, column 5"), std::string::npos)
            << report.status().message();
        EXPECT_FALSE(fs::exists(out));
    }
}

// TenPak's GGUF output for the bundled model against llama.cpp's files made from the same weights
// (shared/data/stories260K/README.md): every tensor both files have is byte-identical, types too.
TEST(QuantizeModelTest, GgufMatchesLlamaCppByteForByte) {
    for (auto [type, file] :
         {std::pair{DType::kQ8_0, "stories260K-q8_0-mix.gguf"}, std::pair{DType::kQ4_0, "stories260K-q4_0-mix.gguf"}}) {
        testing::TempDir dir;
        const std::string out = dir.File("model.gguf");
        auto report = QuantizeModel(Bundled(), Gguf(type), out);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_EQ(report->kept.size(), 5u) << "ffn_down: 172-wide rows";
        auto ours = io::GgufReader::Open(out);
        auto theirs = io::GgufReader::Open(testing::SharedData("stories260K/gguf/" + std::string(file)));
        ASSERT_TRUE(ours.ok() && theirs.ok());
        size_t compared = 0;
        for (const io::TensorInfo& t : (*ours)->tensors()) {
            // llama.cpp's converter untied the head (its file has output.weight, a copy of the
            // embedding); ours is tied, so its token_embd is the head and takes the head's type.
            // With Q4_0, that is llama.cpp's output.weight; with Q8_0 both are the same anyway.
            const std::string their_name =
                t.name == "token_embd.weight" && type == DType::kQ4_0 ? "output.weight" : t.name;
            const io::TensorInfo* other = (*theirs)->Find(their_name);
            ASSERT_NE(other, nullptr) << their_name;
            EXPECT_EQ(t.dtype, other->dtype) << t.name;
            EXPECT_EQ(t.shape, other->shape) << t.name;
            auto a = (*ours)->Read(t);
            auto b = (*theirs)->Read(*other);
            ASSERT_TRUE(a.ok() && b.ok());
            ASSERT_EQ(a->size(), b->size()) << t.name;
            EXPECT_EQ(std::memcmp(a->data(), b->data(), a->size()), 0) << t.name << " in " << file;
            ++compared;
        }
        EXPECT_EQ(compared + 1, (*theirs)->tensors().size());
    }
}

// The GGUF export read by TenPak's GGUF reader and run on packed Q4_0 codes gives the perplexity of
// the same weights in the HF layout (the file converted to an F32 folder: Q4_0 values are exact in
// F32), up to the order of float additions.
TEST(SlowQuantizeModelTest, GgufAndItsHfCopyGiveTheSamePerplexity) {
    testing::TempDir dir;
    const std::string gguf = dir.File("model.gguf");
    ASSERT_TRUE(QuantizeModel(Bundled(), Gguf(DType::kQ4_0), gguf).ok());
    auto m = model::OpenModel(gguf);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model::WriteOptions options;
    options.dtype = DType::kF32;
    options.progress = false;
    ASSERT_TRUE(model::WriteHfFolder(*m, dir.File("hf"), options).ok());
    // The equality holds on any text; a fifth of the sample keeps the test short.
    const std::string text = testing::SampleText("tinystories_val.txt").substr(0, 160000);
    const auto ppl = [&](const std::string& path) {
        testing::LoadedModel l = testing::LoadForInference(path, 256);
        engine::PerplexityOptions ppl_options;
        ppl_options.ctx = 256;
        auto r = engine::Perplexity(*l.engine, *l.tokenizer, text, ppl_options);
        if (!r.ok()) throw std::runtime_error(r.status().ToString());
        return r->ppl;
    };
    const double packed = ppl(gguf);
    const double dense = ppl(dir.File("hf"));
    std::printf("[ Q4_0 ] GGUF ppl %.5f, HF F32 copy %.5f\n", packed, dense);
    EXPECT_NEAR(packed, dense, dense * 1e-4);
}

// ---- Perplexity (Release only: each evaluation reads the whole validation sample) --------------

struct PplCase {
    std::string name;
    QuantizeRequest request;
    double max_increase_percent;  // over the F32 model's perplexity on the same text
};

void PrintTo(const PplCase& c, std::ostream* os) {
    *os << c.name;
}

class SlowQuantizedPerplexityTest : public ::testing::TestWithParam<PplCase> {};

double F32Perplexity() {
    static const double ppl = testing::ValidationPerplexity(BundledModel()).ppl;
    return ppl;
}

TEST_P(SlowQuantizedPerplexityTest, StaysWithinItsBound) {
    const PplCase& c = GetParam();
    testing::TempDir dir;
    const std::string out = dir.File(c.request.format == OutputFormat::kGguf ? "model.gguf" : "out");
    auto report = QuantizeModel(Bundled(), c.request, out);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const double base = F32Perplexity();
    const double ppl = testing::ValidationPerplexity(out).ppl;
    const double increase = 100.0 * (ppl / base - 1.0);
    std::printf("[ %s ] ppl %.4f (F32 %.4f, %+.3f %%), %.2fx smaller\n", c.name.c_str(), ppl, base, increase,
                report->compression());
    EXPECT_LE(std::abs(increase), c.max_increase_percent) << c.name;
}

// The bounds. F16 and INT8 are the (0.1 % and 1 %); Q8_0 gets INT8's. The 4-bit ones were
// measured on 2026-11-27 (docs/quantization.md, "Quality on the bundled model") and set at about 1.5
// times the measured increase, so that a regression of a quantizer, a layout or a kernel shows while
// float noise cannot: a 260K-parameter model has no redundancy to spare, so 4 bits cost it far more
// than they cost a 7B model. GPTQ and AWQ quantize only this model's attention layers (the MLP's 172
// does not fit their words), hence their smaller increase.
// Only the four (F16, INT8, NF4, RTN 4-bit) and GGUF Q4_0 run in CI, to keep it short; the
// other rows of docs/quantization.md (fp4, awq, Q4_1, Q8_0) were measured with the same code.
INSTANTIATE_TEST_SUITE_P(
    Stories260K, SlowQuantizedPerplexityTest,
    ::testing::Values(PplCase{"fp16", Preset("fp16"), 0.1}, PplCase{"bnb_int8", Preset("bnb_int8"), 1.0},
                      PplCase{"bnb_nf4", Preset("bnb_nf4"), 19.0},                           // measured +12.4 %
                      PplCase{"rtn_4bit_g32", Rtn(OutputFormat::kGptq, 4, 32, true), 7.5},  // +4.9 %
                      PplCase{"gguf_q4_0", Gguf(DType::kQ4_0), 9.5}),                       // +6.2 %
    [](const ::testing::TestParamInfo<PplCase>& p) { return p.param.name; });

}  // namespace
}  // namespace tenpak::quant
