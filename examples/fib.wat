;; An example module: iterative Fibonacci and a small memory checksum.
(module $example
  (memory (export "memory") 1)
  (data (i32.const 0) "Kiln")

  ;; fib(n) with 64-bit wrap-around.
  (func $fib (export "fib") (param $n i32) (result i64)
    (local $a i64) (local $b i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $b (i64.add (local.get $a) (local.tee $a (local.get $b))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $a))

  ;; Sum of the first four bytes of memory plus fib(50).
  (func (export "main") (result i64)
    (i64.add
      (i64.extend_i32_u
        (i32.add
          (i32.add (i32.load8_u (i32.const 0)) (i32.load8_u (i32.const 1)))
          (i32.add (i32.load8_u (i32.const 2)) (i32.load8_u (i32.const 3)))))
      (call $fib (i32.const 50)))))
