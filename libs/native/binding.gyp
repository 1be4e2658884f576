{
  "targets": [
    {
      "target_name": "shardlab_native",
      "sources": ["csrc/native.cc", "csrc/direct_conv.cc", "csrc/deform.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-ffp-contract=off"],
      "libraries": ["-lopenblas"]
    }
  ]
}
