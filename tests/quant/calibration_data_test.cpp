// Calibration texts: plain and JSONL, the errors that name the line, and the windows cut from the
// tokenized text (distinct, seeded, in text order, refused with the numbers when the text is short).
#include "quant/calibration_data.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "engine_fixture.h"
#include "test_util.h"

namespace tenpak::quant::internal {
namespace {

using testing::TempDir;

std::string Write(const TempDir& dir, const std::string& name, const std::string& content) {
    const std::string path = dir.File(name);
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

TEST(CalibrationDataTest, PlainTextIsReadAsIs) {
    TempDir dir;
    const std::string text = "Once upon a time\nthere was a cat.\n";
    auto read = ReadCalibrationText(Write(dir, "a.txt", text));
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, text);
}

TEST(CalibrationDataTest, JsonlJoinsTheTextFields) {
    TempDir dir;
    auto read = ReadCalibrationText(
        Write(dir, "c.jsonl", "{\"text\": \"first\", \"id\": 1}\n\n{\"text\": \"second\\nline\"}\n"));
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, "first\n\nsecond\nline");
    // Recognised by content too.
    auto by_content = ReadCalibrationText(Write(dir, "c.data", "{\"text\": \"only\"}\n"));
    ASSERT_TRUE(by_content.ok());
    EXPECT_EQ(*by_content, "only");
}

TEST(CalibrationDataTest, ErrorsNameTheFileAndLine) {
    TempDir dir;
    const auto message = [](const Result<std::string>& r) { return r.ok() ? std::string() : r.status().message(); };
    const std::string no_text = Write(dir, "n.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n");
    EXPECT_NE(message(ReadCalibrationText(no_text)).find("n.jsonl line 2 has no string \"text\" field"),
              std::string::npos)
        << message(ReadCalibrationText(no_text));
    const std::string not_object = Write(dir, "o.jsonl", "{\"text\": \"ok\"}\n[1, 2]\n");
    EXPECT_NE(message(ReadCalibrationText(not_object)).find("line 2 is not a JSON object"), std::string::npos);
    const std::string latin1 = Write(dir, "l.txt", "good line\nalso good\ncaf\xe9 au lait\n");
    EXPECT_NE(message(ReadCalibrationText(latin1)).find("l.txt line 3 is not UTF-8"), std::string::npos)
        << message(ReadCalibrationText(latin1));
    EXPECT_FALSE(ReadCalibrationText(dir.File("missing.txt")).ok());
}

class CalibrationWindowsTest : public ::testing::Test {
protected:
    static const tokenizer::Tokenizer& Tok() {
        static const testing::LoadedModel* loaded =
            new testing::LoadedModel(testing::LoadForInference(testing::BundledModel(), 64));
        return *loaded->tokenizer;
    }
    static const std::string& Text() {
        static const std::string text = testing::SampleText("tinystories_train_head.txt").substr(0, 20000);
        return text;
    }
};

TEST_F(CalibrationWindowsTest, WindowsAreDistinctSlicesOfTheTextInOrderAndSeeded) {
    CalibrationOptions options;
    options.samples = 6;
    options.seqlen = 32;
    options.seed = 7;
    auto windows = CalibrationWindows(Text(), Tok(), options, "text");
    ASSERT_TRUE(windows.ok()) << windows.status().ToString();
    ASSERT_EQ(windows->size(), 6u * 32u);
    const std::vector<int32_t> all = Tok().Encode(Text(), false);
    std::vector<size_t> starts;
    for (size_t w = 0; w < 6; ++w) {
        // Each window occurs in the tokenized text.
        const auto first = windows->begin() + static_cast<std::ptrdiff_t>(w * 32);
        const auto found = std::search(all.begin(), all.end(), first, first + 32);
        ASSERT_NE(found, all.end()) << "window " << w;
        starts.push_back(static_cast<size_t>(found - all.begin()));
    }
    for (size_t w = 1; w < starts.size(); ++w) EXPECT_GE(starts[w], starts[w - 1] + 32) << "overlap or disorder";

    auto again = CalibrationWindows(Text(), Tok(), options, "text");
    EXPECT_EQ(*again, *windows);
    options.seed = 8;
    auto other = CalibrationWindows(Text(), Tok(), options, "text");
    EXPECT_NE(*other, *windows);
}

TEST_F(CalibrationWindowsTest, TooShortATextGivesTheNumbers) {
    CalibrationOptions options;
    options.samples = 1000;
    options.seqlen = 512;
    auto windows = CalibrationWindows(Text(), Tok(), options, "sample.txt");
    ASSERT_FALSE(windows.ok());
    const std::string m = windows.status().message();
    EXPECT_NE(m.find("sample.txt has "), std::string::npos) << m;
    EXPECT_NE(m.find("1000 samples of 512 tokens need 512000"), std::string::npos) << m;
    options.samples = 0;
    EXPECT_FALSE(CalibrationWindows(Text(), Tok(), options, "x").ok());
}

}  // namespace
}  // namespace tenpak::quant::internal
