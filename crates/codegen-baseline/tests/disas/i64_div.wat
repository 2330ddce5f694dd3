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
;;     12: jb      000000000000005Ch
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     [rbp-30h],rdx
;;     26: mov     [rbp-40h],rdx
;;     2a: mov     rcx,[rbp-40h]
;;     2e: mov     rax,rsi
;;     31: test    rcx,rcx
;;     34: je      000000000000005Eh
;;     3a: cmp     rcx,0FFFFFFFFFFFFFFFFh
;;     3e: jne     000000000000004Eh
;;     44: cmp     rax,1
;;     48: jo      0000000000000060h
;;     4e: cqo
;;     50: idiv    rcx
;;     53: mov     rbx,[rbp-8]
;;     57: mov     rsp,rbp
;;     5a: pop     rbp
;;     5b: ret
;;     5c: ud2  ; trap: StackOverflow
;;     5e: ud2  ; trap: IntegerDivideByZero
;;     60: ud2  ; trap: IntegerOverflow
;; function 1: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000059h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     [rbp-30h],edx
;;     29: mov     [rbp-40h],edx
;;     2c: mov     ecx,[rbp-40h]
;;     2f: mov     rax,rsi
;;     32: test    ecx,ecx
;;     34: je      000000000000005Bh
;;     3a: cmp     ecx,0FFFFFFFFh
;;     3d: jne     000000000000004Ah
;;     43: xor     edx,edx
;;     45: jmp     000000000000004Dh
;;     4a: cdq
;;     4b: idiv    ecx
;;     4d: mov     rax,rdx
;;     50: mov     rbx,[rbp-8]
;;     54: mov     rsp,rbp
;;     57: pop     rbp
;;     58: ret
;;     59: ud2  ; trap: StackOverflow
;;     5b: ud2  ; trap: IntegerDivideByZero
