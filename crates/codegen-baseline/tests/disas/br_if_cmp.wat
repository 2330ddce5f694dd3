;; A comparison feeding br_if/if branches on the flags instead of materializing a boolean.
(module
  (func (param i64 i32) (result i32)
    (block $b
      (br_if $b (i64.lt_u (local.get 0) (i64.const 100)))
      (if (i32.eqz (local.get 1)) (then (local.set 1 (i32.const 9)))))
    (local.get 1)))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000052h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     edx,edx
;;     24: cmp     rsi,64h
;;     28: jb      0000000000000046h
;;     2e: test    edx,edx
;;     30: jne     0000000000000040h
;;     36: mov     eax,9
;;     3b: jmp     0000000000000043h
;;     40: mov     rax,rdx
;;     43: mov     rdx,rax
;;     46: mov     rax,rdx
;;     49: mov     rbx,[rbp-8]
;;     4d: mov     rsp,rbp
;;     50: pop     rbp
;;     51: ret
;;     52: ud2  ; trap: StackOverflow
