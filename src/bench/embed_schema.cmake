# cmake -DIN=schema.json -DOUT=report_schema.cpp -P embed_schema.cmake
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from src/bench/schema.json by embed_schema.cmake.\n"
                  "namespace wgllm::bench {\n"
                  "extern const char* const kReportSchemaText;\n"
                  "const char* const kReportSchemaText = R\"schema(${text})schema\";\n"
                  "}  // namespace wgllm::bench\n")
