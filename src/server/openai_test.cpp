// The request rules, response shapes, stop-string matching and SSE parsing, on plain strings.
#include <gtest/gtest.h>

#include "server/engine.h"
#include "server/loadtest.h"
#include "server/openai.h"

namespace wgllm::server {
namespace {

TEST(OpenAiParse, ChatRequestWithEverySetting) {
  const CompletionRequest r = parse_request(Endpoint::Chat, R"({
    "model": "x", "messages": [{"role": "developer", "content": "Be brief."},
                               {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
                               {"role": "assistant", "content": null}],
    "temperature": 0.5, "top_p": 0.9, "top_k": 7, "min_p": 0.1, "repeat_penalty": 1.1, "seed": -3,
    "max_tokens": 12, "stop": ["a", "bc"], "stream": true, "stream_options": {"include_usage": true},
    "n": 1, "presence_penalty": 0, "unknown_key": [1, 2]})");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.messages[2].role, "assistant");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 7);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_FLOAT_EQ(r.sampling.repeat_penalty, 1.1f);
  EXPECT_EQ(r.sampling.seed, uint64_t(-3));
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.max_tokens, 12);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAiParse, DefaultsAreOpenAisAndNullMeansDefault) {
  const CompletionRequest r = parse_request(Endpoint::Completion, R"({"prompt": ["Once"], "temperature": null, "stop": "x"})");
  EXPECT_EQ(r.prompt, "Once");
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 1.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.0f);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.seed_given);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_FALSE(r.stream);
}

struct BadCase {
  Endpoint endpoint;
  const char* body;
  const char* message;
  const char* param;  // "" = null
};

TEST(OpenAiParse, BadRequestsNameTheParameter) {
  const BadCase cases[] = {
      {Endpoint::Chat, "{\"messages\": [", "The request body is not valid JSON (it ends early, after 14 bytes).", ""},
      {Endpoint::Chat, "{\"a\" 1}", "The request body is not valid JSON (syntax error at byte 6).", ""},
      {Endpoint::Chat, "[1]", "The request body must be a JSON object, got array.", ""},
      {Endpoint::Chat, "{}", "Missing required parameter: 'messages'.", "messages"},
      {Endpoint::Chat, R"({"messages": "hi"})", "Invalid type for 'messages': expected an array, but got string instead.", "messages"},
      {Endpoint::Chat, R"({"messages": []})", "Invalid 'messages': empty array. Expected an array with at least one message.", "messages"},
      {Endpoint::Chat, R"({"messages": [{"role": "robot", "content": "x"}]})",
       "Invalid value for 'messages[0].role': \"robot\" is not one of 'system', 'user', 'assistant'.", "messages[0].role"},
      {Endpoint::Chat, R"({"messages": [{"content": "x"}]})", "Missing required parameter: 'messages[0].role'.", "messages[0].role"},
      {Endpoint::Chat, R"({"messages": [{"role": "user"}]})", "Missing required parameter: 'messages[0].content'.", "messages[0].content"},
      {Endpoint::Chat, R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
       "Invalid value for 'messages[0].content[0].type': only text content parts are supported, got \"image_url\".",
       "messages[0].content[0].type"},
      {Endpoint::Chat, R"({"messages": [{"role": "user", "content": 5}]})",
       "Invalid type for 'messages[0].content': expected a string or an array of content parts, but got number instead.",
       "messages[0].content"},
      {Endpoint::Completion, "{}", "Missing required parameter: 'prompt'.", "prompt"},
      {Endpoint::Completion, R"({"prompt": 3})", "Invalid type for 'prompt': expected a string, but got number instead.", "prompt"},
      {Endpoint::Completion, R"({"prompt": ["a", "b"]})", "Invalid value for 'prompt': only one prompt per request is supported, got 2.", "prompt"},
      {Endpoint::Completion, R"({"prompt": "a", "temperature": -1})", "Invalid value for 'temperature': expected a number from 0 to 2, got -1.", "temperature"},
      {Endpoint::Completion, R"({"prompt": "a", "temperature": "hot"})", "Invalid type for 'temperature': expected a number, but got string instead.", "temperature"},
      {Endpoint::Completion, R"({"prompt": "a", "top_p": 0})", "Invalid value for 'top_p': expected a number above 0 up to 1, got 0.", "top_p"},
      {Endpoint::Completion, R"({"prompt": "a", "max_tokens": 0})", "Invalid value for 'max_tokens': expected an integer from 1 to 1073741824, got 0.", "max_tokens"},
      {Endpoint::Completion, R"({"prompt": "a", "max_tokens": 2.5})", "Invalid type for 'max_tokens': expected an integer, but got number instead.", "max_tokens"},
      {Endpoint::Completion, R"({"prompt": "a", "n": 2})", "Invalid value for 'n': only n = 1 is supported, got 2.", "n"},
      {Endpoint::Completion, R"({"prompt": "a", "stop": 5})", "Invalid type for 'stop': expected a string or an array of strings, but got number instead.", "stop"},
      {Endpoint::Completion, R"({"prompt": "a", "stop": ["a","b","c","d","e"]})", "Invalid value for 'stop': at most 4 stop sequences are supported, got 5.", "stop"},
      {Endpoint::Completion, R"({"prompt": "a", "stop": [""]})", "Invalid value for 'stop': a stop sequence is empty.", "stop"},
      {Endpoint::Completion, R"({"prompt": "a", "stream": "yes"})", "Invalid type for 'stream': expected a boolean, but got string instead.", "stream"},
      {Endpoint::Completion, R"({"prompt": "a", "frequency_penalty": 0.5})", "Invalid value for 'frequency_penalty': only 0 is supported, got 0.5.", "frequency_penalty"},
      {Endpoint::Completion, R"({"prompt": "a", "logprobs": true})", "Invalid value for 'logprobs': logprobs is not supported.", "logprobs"},
      {Endpoint::Completion, R"({"prompt": "a", "model": 1})", "Invalid type for 'model': expected a string, but got number instead.", "model"},
  };
  for (const BadCase& c : cases) {
    try {
      parse_request(c.endpoint, c.body);
      ADD_FAILURE() << "accepted: " << c.body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400) << c.body;
      EXPECT_EQ(std::string(e.what()), c.message) << c.body;
      EXPECT_EQ(e.param, c.param) << c.body;
      EXPECT_EQ(e.type, "invalid_request_error");
    }
  }
}

TEST(OpenAiJson, ErrorBodyHasOpenAisShape) {
  EXPECT_EQ(error_body(ApiError(400, "bad", "top_p", "invalid_value")).dump(),
            R"({"error":{"message":"bad","type":"invalid_request_error","param":"top_p","code":"invalid_value"}})");
  EXPECT_EQ(error_body(ApiError(500, "boom", "", "", "server_error")).dump(),
            R"({"error":{"message":"boom","type":"server_error","param":null,"code":null}})");
}

TEST(OpenAiJson, ChatResponseAndChunks) {
  const ResponseHead h{Endpoint::Chat, "chatcmpl-1", "m", 1700000000};
  EXPECT_EQ(completion_json(h, "hi", "stop", {5, 2}).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":"hi"},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})");
  EXPECT_EQ(chunk_json(h, "", true, "").dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,)"
            R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(chunk_json(h, "", false, "length")["choices"][0]["delta"].dump(), "{}");
  EXPECT_EQ(usage_chunk_json(h, {3, 4})["choices"].dump(), "[]");
  const ResponseHead c{Endpoint::Completion, "cmpl-2", "m", 1};
  EXPECT_EQ(completion_json(c, "x", "length", {1, 1})["object"], "text_completion");
  EXPECT_EQ(completion_json(c, "x", "length", {1, 1})["choices"][0]["text"], "x");
  EXPECT_EQ(chunk_json(c, "y", true, "")["choices"][0]["text"], "y");
}

TEST(OpenAiJson, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const ResponseHead h{Endpoint::Completion, "cmpl-3", "m", 1};
  const std::string text = wire(chunk_json(h, "a\xC1" "b\xE2\x82", false, ""));
  EXPECT_EQ(json::parse(text)["choices"][0]["text"], "a\uFFFD" "b\uFFFD");
}

// Feeds pieces to a matcher; returns what it let out.
std::string match(std::vector<std::string> stops, const std::vector<std::string>& pieces, bool* hit) {
  StopMatcher m(std::move(stops));
  std::string out;
  *hit = false;
  for (const std::string& p : pieces) {
    out += m.push(p, hit);
    if (*hit) return out;
  }
  return out + m.finish();
}

TEST(StopMatcher, StopsAtTheFirstStopStringAcrossPieces) {
  bool hit;
  EXPECT_EQ(match({"END"}, {"ab", "cE", "N", "Dxy"}, &hit), "abc");
  EXPECT_TRUE(hit);
  EXPECT_EQ(match({"END", "c"}, {"ab", "cE"}, &hit), "ab");
  EXPECT_TRUE(hit);
  EXPECT_EQ(match({"END"}, {"ab", "EN", "x"}, &hit), "abENx");  // a false start is let out
  EXPECT_FALSE(hit);
  EXPECT_EQ(match({"END"}, {"ab", "EN"}, &hit), "abEN");  // held tail flushed at the end
  EXPECT_FALSE(hit);
  EXPECT_EQ(match({}, {"ab", "c"}, &hit), "abc");
}

TEST(StopMatcher, HoldsOnlyWhatCouldStartAStopString) {
  StopMatcher m({"\n\n"});
  bool hit = false;
  EXPECT_EQ(m.push("one\n", &hit), "one");
  EXPECT_EQ(m.push("two", &hit), "\ntwo");
  EXPECT_EQ(m.push("\n\nthree", &hit), "");
  EXPECT_TRUE(hit);
}

TEST(SseParser, SplitsEventsAcrossReads) {
  SseParser p;
  const std::string head = "data: {\"a\"";
  EXPECT_TRUE(p.feed(head.data(), head.size()).empty());
  const std::string rest = ":1}\n\n: comment\n\ndata: [DONE]\n\n";
  EXPECT_EQ(p.feed(rest.data(), rest.size()), (std::vector<std::string>{"{\"a\":1}", "[DONE]"}));
}

}  // namespace
}  // namespace wgllm::server
