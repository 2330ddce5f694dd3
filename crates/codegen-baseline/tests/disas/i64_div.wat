;; Division: zero and overflow checks branch to out-of-line traps; rem_s of -1 is 0.
(module
  (func (param i64 i64) (result i64)
    (i64.div_s (local.get 0) (local.get 1)))
  (func (param i32 i32) (result i32)
    (i32.rem_s (local.get 0) (local.get 1))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000053h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     rcx,rdx
;;     25: mov     rax,rsi
;;     28: test    rcx,rcx
;;     2b: je      0000000000000055h
;;     31: cmp     rcx,0FFFFFFFFFFFFFFFFh
;;     35: jne     0000000000000045h
;;     3b: cmp     rax,1
;;     3f: jo      0000000000000057h
;;     45: cqo
;;     47: idiv    rcx
;;     4a: mov     rbx,[rbp-8]
;;     4e: mov     rsp,rbp
;;     51: pop     rbp
;;     52: ret
;;     53: ud2  ; trap: StackOverflow
;;     55: ud2  ; trap: IntegerDivideByZero
;;     57: ud2  ; trap: IntegerOverflow
;; function 1: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000053h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rcx,rdx
;;     29: mov     rax,rsi
;;     2c: test    ecx,ecx
;;     2e: je      0000000000000055h
;;     34: cmp     ecx,0FFFFFFFFh
;;     37: jne     0000000000000044h
;;     3d: xor     edx,edx
;;     3f: jmp     0000000000000047h
;;     44: cdq
;;     45: idiv    ecx
;;     47: mov     rax,rdx
;;     4a: mov     rbx,[rbp-8]
;;     4e: mov     rsp,rbp
;;     51: pop     rbp
;;     52: ret
;;     53: ud2  ; trap: StackOverflow
;;     55: ud2  ; trap: IntegerDivideByZero
