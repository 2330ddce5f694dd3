;; Bounds, null and signature checks before an indirect call.
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (func (param i32 i32) (result i32)
    (call_indirect (type $t) (local.get 1) (local.get 0))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000074h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     edx,edx
;;     26: mov     rax,rsi
;;     29: cmp     eax,[rbx+38h]
;;     2c: jae     0000000000000076h
;;     32: mov     r11,[rbx+30h]
;;     36: mov     rax,[r11+rax*8]
;;     3a: test    rax,rax
;;     3d: je      0000000000000078h
;;     43: mov     r11d,[rbx+20h]
;;     47: cmp     [rax+8],r11d
;;     4b: jne     000000000000007Ah
;;     51: mov     [rbp-18h],rax
;;     55: mov     [rbp-28h],esi
;;     58: mov     [rbp-30h],edx
;;     5b: mov     rsi,rdx
;;     5e: mov     r11,[rbp-18h]
;;     62: mov     rdi,[r11+10h]
;;     66: call    qword ptr [r11]
;;     69: mov     eax,eax
;;     6b: mov     rbx,[rbp-8]
;;     6f: mov     rsp,rbp
;;     72: pop     rbp
;;     73: ret
;;     74: ud2  ; trap: StackOverflow
;;     76: ud2  ; trap: UndefinedElement
;;     78: ud2  ; trap: IndirectCallToNull
;;     7a: ud2  ; trap: BadSignature
