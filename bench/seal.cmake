# Sealing throughput beside `openssl speed` (bench/seal.sh runs both).
add_executable(sinetti_bench_seal ${CMAKE_CURRENT_LIST_DIR}/seal_bench.cpp)
target_link_libraries(sinetti_bench_seal PRIVATE sinetti_crypto sinetti_warnings)
