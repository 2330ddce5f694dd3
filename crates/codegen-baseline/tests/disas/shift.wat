;; Shift counts go through cl unless constant.
(module
  (func (param i32 i32) (result i32)
    (i32.shl (local.get 0) (local.get 1)))
  (func (param i64) (result i64)
    (i64.rotr (local.get 0) (i64.const 65))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000036h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rax,rsi
;;     29: mov     ecx,edx
;;     2b: shl     eax,cl
;;     2d: mov     rbx,[rbp-8]
;;     31: mov     rsp,rbp
;;     34: pop     rbp
;;     35: ret
;;     36: ud2  ; trap: StackOverflow
;; function 1: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000031h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     rax,rsi
;;     25: ror     rax,1
;;     28: mov     rbx,[rbp-8]
;;     2c: mov     rsp,rbp
;;     2f: pop     rbp
;;     30: ret
;;     31: ud2  ; trap: StackOverflow
