# bench/store.sh runs it on the release preset.
add_executable(sinetti_store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cpp)
target_link_libraries(sinetti_store_bench PRIVATE sinetti_store sinetti_crypto sinetti_warnings)
