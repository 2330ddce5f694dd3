;; select: cmov for integers, a branch for floats.
(module
  (func (param i32 i64 i64) (result i64)
    (select (local.get 1) (local.get 2) (local.get 0)))
  (func (param f32 f32 i32) (result f32)
    (select (local.get 0) (local.get 1) (local.get 2))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 80 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,50h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000036h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     rax,rdx
;;     27: test    esi,esi
;;     29: cmove   rax,rcx
;;     2d: mov     rbx,[rbp-8]
;;     31: mov     rsp,rbp
;;     34: pop     rbp
;;     35: ret
;;     36: ud2  ; trap: StackOverflow
;; function 1: frame 80 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,50h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000041h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: movapd  xmm2,xmm0
;;     28: test    esi,esi
;;     2a: jne     0000000000000034h
;;     30: movapd  xmm2,xmm1
;;     34: movapd  xmm0,xmm2
;;     38: mov     rbx,[rbp-8]
;;     3c: mov     rsp,rbp
;;     3f: pop     rbp
;;     40: ret
;;     41: ud2  ; trap: StackOverflow
